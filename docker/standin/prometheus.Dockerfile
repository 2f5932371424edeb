# Stand-in for the prom/prometheus image of docker-compose.yml, tagged with that name by the
# tests: Debian's prometheus binaries (in the build context) on the rootfs.sh file system, laid
# out as the official image is (entry point, user, data directory).
ARG ROOTFS
FROM ${ROOTFS}
COPY prometheus promtool /bin/
RUN mkdir -p /etc/prometheus /prometheus && chown 65534:65534 /prometheus
USER 65534:65534
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
