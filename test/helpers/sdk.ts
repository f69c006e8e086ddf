/** The official Dapr SDK client pointed at a started sidecar, quiet unless something fails. */
import { CommunicationProtocolEnum, DaprClient, LogLevel } from "@dapr/dapr";

export function sdkClient(
  sidecar: { httpPort: number; grpcPort: number },
  protocol: "HTTP" | "GRPC",
  daprApiToken?: string,
): DaprClient {
  return new DaprClient({
    daprHost: "127.0.0.1",
    daprPort: String(protocol === "HTTP" ? sidecar.httpPort : sidecar.grpcPort),
    communicationProtocol: CommunicationProtocolEnum[protocol],
    daprApiToken,
    logger: { level: LogLevel.Error },
  });
}
