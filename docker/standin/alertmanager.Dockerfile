# Stand-in for the prom/alertmanager image of docker-compose.yml, tagged with that name by the
# tests: Debian's prometheus-alertmanager binary and its notification templates (in the build
# context) on the rootfs.sh file system, laid out as the official image is (entry point, user,
# data directory).
ARG ROOTFS
FROM ${ROOTFS}
COPY alertmanager /bin/alertmanager
# Where Debian's build looks for its templates.
COPY default.tmpl email.tmpl /usr/share/prometheus/alertmanager/
RUN mkdir -p /etc/alertmanager /alertmanager && chown 65534:65534 /alertmanager
USER 65534:65534
WORKDIR /alertmanager
EXPOSE 9093
ENTRYPOINT ["/bin/alertmanager"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
