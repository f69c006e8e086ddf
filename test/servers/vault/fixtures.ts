/** Seeds the Vault test server the way components-contrib's conformance and certification setups seed a real Vault. */
import type { VaultTestServer } from "./server.js";

/** `.github/infrastructure/conformance/hashicorp/setup-hashicorp-vault-secrets.sh`. */
export function seedDaprFixtures(vault: VaultTestServer): void {
  vault.put("dapr/conftestsecret", { conftestsecret: "abcd" });
  vault.put("dapr/secondsecret", { secondsecret: "efgh" });
  vault.put("secretWithNoPrefix", { noPrefixKey: "noProblem" });
  vault.put("alternativePrefix/secretUnderAlternativePrefix", { altPrefixKey: "altPrefixValue" });
  vault.put("dapr/multiplekeyvaluessecret", { first: "1", second: "2", third: "3" });
}

/** `components/versioning/seed-secret-with-multiple-versions.sh`. */
export function seedVersions(vault: VaultTestServer): void {
  for (const v of ["initialVersion", "secondVersion", "v3", "v4", "latestValue"])
    vault.put("dapr/secretUnderTest", { versionedKey: v });
}
