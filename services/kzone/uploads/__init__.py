"""Media uploads (`kzone.kzone_media`): streamed into object storage, type checked by magic bytes."""
