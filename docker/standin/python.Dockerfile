# Stand-in for python:3.11.14-slim-bookworm, tagged with that name by the tests: the root
# filesystem of rootfs.sh plus the CA certificates the building host trusts (ca-certificates.crt
# in the build context), so that pip in the image build reaches PyPI the way the host does.
ARG ROOTFS
FROM ${ROOTFS}
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV LANG=C.UTF-8
CMD ["python3"]
