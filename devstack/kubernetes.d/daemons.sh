# shellcheck shell=bash
# Command lines and configuration of the five daemons. Sourced after lib.sh and pki.sh.

K8S_DAEMONS=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet)   # start order
K8S_KUBELET_ROOT="$K8S_STATE/kubelet"

# The engine the kubelet drives: the devstack's (DOCKER_HOST when it names a unix socket).
k8s_docker_endpoint() {
  case ${DOCKER_HOST:-} in
    unix://*) printf '%s\n' "$DOCKER_HOST" ;;
    *) printf 'unix:///var/run/docker.sock\n' ;;
  esac
}

k8s_write_kubelet_config() {
  local tmp
  tmp=$(mktemp "$K8S_STATE/kubelet-config.yaml.XXXXXX")
  cat >"$tmp" <<EOF
# Written by devstack/kubernetes on every up; edit kubernetes.d/daemons.sh instead.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${K8S_KUBELET_HEALTHZ_PORT}
tlsCertFile: ${K8S_PKI}/kubelet-serving.crt
tlsPrivateKeyFile: ${K8S_PKI}/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${K8S_PKI}/ca.crt}
authorization: {mode: Webhook}
# A devstack shares its engine and cgroups with everything else on the machine: no QoS cgroup tree,
# no allocatable enforcement, no swap check, evictions only when the disk is really full.
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
# Image garbage collection would delete other people's images from the shared engine: never.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
# No KUBE-* iptables chains in the host's tables (no kube-proxy here; nothing would use them).
makeIPTablesUtilChains: false
resolvConf: /etc/resolv.conf
clusterDomain: cluster.local
volumePluginDir: ${K8S_STATE}/volume-plugins
# The first status after registration says NotReady; recompute every 2 s (not 10) so Ready shows up
# ~2 s after the kubelet starts, but post unchanged status only once a minute.
nodeStatusUpdateFrequency: 2s
nodeStatusReportFrequency: 1m
EOF
  mv "$tmp" "$K8S_STATE/kubelet-config.yaml"
}

# k8s_cmdline NAME BINDIR: prints the argv of daemon NAME, one word per line.
k8s_cmdline() {
  local bin=$2 p=$K8S_PKI k=$K8S_KUBECONFIGS
  case $1 in
    etcd) printf '%s\n' /usr/bin/etcd --name glrunner-devstack --data-dir "$K8S_STATE/etcd" \
        --listen-client-urls "http://127.0.0.1:${K8S_ETCD_PORT}" \
        --advertise-client-urls "http://127.0.0.1:${K8S_ETCD_PORT}" \
        --listen-peer-urls "http://127.0.0.1:${K8S_ETCD_PEER_PORT}" \
        --initial-advertise-peer-urls "http://127.0.0.1:${K8S_ETCD_PEER_PORT}" \
        --initial-cluster "glrunner-devstack=http://127.0.0.1:${K8S_ETCD_PEER_PORT}" \
        --listen-metrics-urls "" --logger zap --log-level warn ;;
    kube-apiserver) printf '%s\n' "$bin/kube-apiserver" \
        --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$K8S_API_PORT" \
        --insecure-port=0 --endpoint-reconciler-type=none \
        --etcd-servers="http://127.0.0.1:${K8S_ETCD_PORT}" \
        --client-ca-file="$p/ca.crt" --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" \
        --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-cluster-ip-range="$K8S_SERVICE_CIDR" \
        --authorization-mode=Node,RBAC --allow-privileged=true \
        --kubelet-client-certificate="$p/apiserver-kubelet-client.crt" \
        --kubelet-client-key="$p/apiserver-kubelet-client.key" \
        --kubelet-certificate-authority="$p/ca.crt" --kubelet-preferred-address-types=InternalIP \
        --profiling=false --v=1 ;;
    kube-controller-manager) printf '%s\n' "$bin/kube-controller-manager" \
        --kubeconfig="$k/controller-manager.kubeconfig" \
        --bind-address=127.0.0.1 --secure-port="$K8S_KCM_PORT" --port=0 \
        --service-account-private-key-file="$p/sa.key" --root-ca-file="$p/ca.crt" \
        --use-service-account-credentials=true --service-cluster-ip-range="$K8S_SERVICE_CIDR" \
        --cluster-name=glrunner-devstack --leader-elect=false --profiling=false --v=1 ;;
    kube-scheduler) printf '%s\n' "$bin/kube-scheduler" \
        --kubeconfig="$k/scheduler.kubeconfig" \
        --bind-address=127.0.0.1 --secure-port="$K8S_SCHED_PORT" --port=0 \
        --leader-elect=false --profiling=false --v=1 ;;
    kubelet) printf '%s\n' "$bin/kubelet" \
        --config="$K8S_STATE/kubelet-config.yaml" --kubeconfig="$k/kubelet.kubeconfig" \
        --container-runtime=docker --docker-endpoint="$(k8s_docker_endpoint)" \
        --container-runtime-endpoint="unix://$K8S_RUN/dockershim.sock" \
        --experimental-dockershim-root-directory="$K8S_STATE/dockershim" \
        --pod-infra-container-image="$K8S_PAUSE_IMAGE" \
        --root-dir="$K8S_KUBELET_ROOT" --cert-dir="$K8S_STATE/kubelet-pki" \
        --hostname-override="$K8S_NODE_NAME" --register-node=true --v=1 ;;
    *) die "unknown daemon $1" ;;
  esac
}

# The port each daemon listens on (to refuse starting over someone else's process).
k8s_port_of() {
  case $1 in
    etcd) echo "$K8S_ETCD_PORT" ;;
    kube-apiserver) echo "$K8S_API_PORT" ;;
    kube-controller-manager) echo "$K8S_KCM_PORT" ;;
    kube-scheduler) echo "$K8S_SCHED_PORT" ;;
    kubelet) echo "$K8S_KUBELET_HEALTHZ_PORT" ;;
  esac
}
