# shellcheck shell=bash
# Certificates and kubeconfigs for the devstack cluster, made with openssl. Sourced after lib.sh.
# Generated once into $K8S_STATE/pki (kept across down/up, so kubeconfigs stay valid); 10-year validity.

K8S_PKI="$K8S_STATE/pki"
K8S_KUBECONFIGS="$K8S_STATE/kubeconfigs"
CERT_DAYS=3650

# sign NAME SUBJECT EXT: key + CSR + certificate signed by the cluster CA, with an openssl extension block.
_sign() {
  local name=$1 subj=$2 ext=$3
  openssl genrsa -out "$K8S_PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$K8S_PKI/$name.key" -subj "$subj" -out "$K8S_PKI/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$K8S_PKI/$name.ext"
  openssl x509 -req -in "$K8S_PKI/$name.csr" -CA "$K8S_PKI/ca.crt" -CAkey "$K8S_PKI/ca.key" \
    -CAcreateserial -days "$CERT_DAYS" -sha256 -extfile "$K8S_PKI/$name.ext" \
    -out "$K8S_PKI/$name.crt" 2>/dev/null || die "openssl could not sign $name"
  rm -f "$K8S_PKI/$name.csr" "$K8S_PKI/$name.ext"
}

_client() {  # NAME CN [O]
  local subj="/CN=$2"
  [[ -n ${3:-} ]] && subj="/O=$3$subj"
  _sign "$1" "$subj" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
}

k8s_ensure_pki() {
  [[ -f $K8S_PKI/.complete ]] && return 0
  log "generating certificates in $K8S_PKI"
  rm -rf "$K8S_PKI"; mkdir -p "$K8S_PKI"; chmod 700 "$K8S_PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$K8S_PKI/ca.key" -out "$K8S_PKI/ca.crt" \
    -days "$CERT_DAYS" -sha256 -subj "/CN=glrunner-devstack-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null || die "openssl could not make the CA"
  _sign apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:${K8S_SERVICE_IP},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  _sign kubelet-serving "/CN=system:node:${K8S_NODE_NAME}" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
  _client admin admin system:masters
  _client apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  _client kubelet "system:node:${K8S_NODE_NAME}" system:nodes
  _client controller-manager system:kube-controller-manager
  _client scheduler system:kube-scheduler
  openssl genrsa -out "$K8S_PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$K8S_PKI/sa.key" -pubout -out "$K8S_PKI/sa.pub" 2>/dev/null || die "openssl sa key failed"
  touch "$K8S_PKI/.complete"
}

# kubeconfig FILE USER CERTNAME: a kubeconfig with the CA and client cert embedded (copyable as one file).
_kubeconfig() {
  local file=$1 user=$2 cert=$3 tmp
  tmp=$(mktemp "$file.XXXXXX")
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: glrunner-devstack
  cluster:
    server: ${K8S_API_URL}
    certificate-authority-data: $(base64 -w0 <"$K8S_PKI/ca.crt")
users:
- name: ${user}
  user:
    client-certificate-data: $(base64 -w0 <"$K8S_PKI/$cert.crt")
    client-key-data: $(base64 -w0 <"$K8S_PKI/$cert.key")
contexts:
- name: glrunner-devstack
  context:
    cluster: glrunner-devstack
    user: ${user}
current-context: glrunner-devstack
EOF
  chmod 600 "$tmp"; mv "$tmp" "$file"
}

k8s_ensure_kubeconfigs() {
  mkdir -p "$K8S_KUBECONFIGS"
  [[ -f $K8S_ADMIN_KUBECONFIG ]] || _kubeconfig "$K8S_ADMIN_KUBECONFIG" admin admin
  local c
  for c in kubelet controller-manager scheduler; do
    [[ -f $K8S_KUBECONFIGS/$c.kubeconfig ]] || _kubeconfig "$K8S_KUBECONFIGS/$c.kubeconfig" "$c" "$c"
  done
}
