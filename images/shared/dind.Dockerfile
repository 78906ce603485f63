# The Docker-in-Docker compatibility variant of an image (`<primary tag>-d`), derived from the
# image itself: the bake file hands the image's target over as the named context `image`, in the
# same bake invocation, so this build adds no layer and both manifests list the same layers. It
# changes configuration only: the EE_DD default (the entrypoint then starts dockerd) and the
# labels bake sets. IMAGE stays `image` under bake; a plain `docker build` may point it at an
# existing image (`--build-arg IMAGE=ratio1/base_edge_node_amd64_cpu:<tag>`).
ARG IMAGE=image

# `image` is a bake named context (or a tagged image given as IMAGE), not a registry name
# hadolint ignore=DL3006
FROM ${IMAGE}

ARG EE_DD_DEFAULT=true
ENV EE_DD=${EE_DD_DEFAULT}
