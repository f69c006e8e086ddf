/**
 * Import this FIRST in a test file that talks TLS to the GCP test server through default roots: grpc-js
 * reads GRPC_DEFAULT_SSL_ROOTS_FILE_PATH once, when it is loaded, and ignores NODE_EXTRA_CA_CERTS.
 */
import { makeTestTls } from "../../helpers/tls.js";

export const testTls = makeTestTls();
process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = testTls.caPath;
