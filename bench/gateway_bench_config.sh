# Sourced by bench/gateway_peers.sh and bench/gateway_callgrind.sh: the gateway both measure.
# write_bench_gateway_config DIR: a PKI in DIR/pki (one device, "bench") and DIR/gateway.yaml,
# a gateway with a plaintext front on 18090 (as that device), TLS on 18443, metrics on 18091,
# one I/O thread (as the peers harness runs nginx with one worker), the ledger in DIR/ledger.db,
# and one model served by the harness's fake upstream on 18080.
write_bench_gateway_config() {
  local dir=$1
  "$partita" pki init --dir "$dir/pki" --device bench >/dev/null
  cat > "$dir/gateway.yaml" <<YAML
listen: 127.0.0.1:18443
tls: {ca: pki/ca.crt, cert: pki/gateway.crt, key: pki/gateway.key}
plaintext: {listen: 127.0.0.1:18090, device: bench}
metrics_listen: 127.0.0.1:18091
threads: 1
capacity: 4096
ledger: ledger.db
models:
  - name: fake-model
    price: {input_usd_per_1m_tokens: 0.15, output_usd_per_1m_tokens: 0.60}
    upstreams:
      - {name: fake, url: "http://127.0.0.1:18080/v1"}
YAML
}
