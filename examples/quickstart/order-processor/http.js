// The same read with plain HTTP, as the quickstart's "http" variant does.
const base = `${process.env.DAPR_HOST || "http://localhost"}:${process.env.DAPR_HTTP_PORT || "3500"}`;
const res = await fetch(`${base}/v1.0/secrets/localsecretstore/secret`);
console.log("Fetched Secret: ", await res.json());
