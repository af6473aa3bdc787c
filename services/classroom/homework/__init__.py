"""Self-paced catch-up: after (or during) a session the teacher opens its cards as homework under
a second code; absent students join by that code, work through the cards at their own pace and
appear in the report with mode `homework`. Homework never touches the live room (Redis)."""
