#!/bin/sh
# A self-signed CA and serving certificate for the injector on a test cluster (use cert-manager elsewhere):
# creates the keyward-injector-tls Secret and puts the CA into the webhook's caBundle.
# Usage: deploy/injector/self-signed-cert.sh   (after kubectl apply -k deploy/injector)
set -eu
ns=keyward-system
svc=keyward-injector
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=keyward-injector-ca" \
  -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=$svc.$ns.svc" -keyout "$dir/tls.key" -out "$dir/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:%s.%s,DNS:%s.%s.svc,DNS:%s.%s.svc.cluster.local\nextendedKeyUsage=serverAuth\n' \
  "$svc" "$svc" "$ns" "$svc" "$ns" "$svc" "$ns" >"$dir/ext.cnf"
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 365 \
  -extfile "$dir/ext.cnf" -out "$dir/tls.crt" 2>/dev/null
kubectl -n "$ns" create secret tls keyward-injector-tls --cert="$dir/tls.crt" --key="$dir/tls.key" \
  --dry-run=client -o yaml | kubectl apply -f -
ca=$(base64 <"$dir/ca.crt" | tr -d '\n')
kubectl patch mutatingwebhookconfiguration keyward-injector --type json \
  -p "[{\"op\":\"replace\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"$ca\"}]"
echo "keyward-injector-tls created; the webhook trusts its CA"
