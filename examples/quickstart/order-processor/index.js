// The quickstart app: reads one secret through the Dapr JavaScript SDK over HTTP, as Dapr's
// secrets_management quickstart does, with Keyward as the sidecar.
import { DaprClient, CommunicationProtocolEnum } from "@dapr/dapr";

const DAPR_SECRET_STORE = "localsecretstore";
const SECRET_NAME = "secret";

const client = new DaprClient({
  daprHost: process.env.DAPR_HOST || "http://localhost",
  daprPort: process.env.DAPR_HTTP_PORT || "3500",
  communicationProtocol: CommunicationProtocolEnum.HTTP,
});

const secret = await client.secret.get(DAPR_SECRET_STORE, SECRET_NAME);
console.log("Fetched Secret: " + JSON.stringify(secret));
