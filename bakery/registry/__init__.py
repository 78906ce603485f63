"""Everything bakery reads from container registries, in one place: references and where
their API lives (`reference`), the one error type (`errors`), what registries answer as strict
models (`documents`), the HTTP transport (`http`), the manifest reader, image sizes and base
digests (`read`), and the update cost (`cost`). The docker CLI transport, for images whose
credentials live in docker's config, is `bakery.docker.imagetools.CliReader`.

Submodules are imported where used: importing this package costs nothing."""
