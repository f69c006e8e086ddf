/** End to end: change notifications of a local.file component, pushed by its file watch. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeNotifyCases } from "../helpers/notify-cases.js";

const dir = mkdtempSync(join(tmpdir(), "keyward-notify-file-"));
const file = join(dir, "secrets.json");
const secrets: Record<string, string> = {};
const write = () => writeFileSync(file, JSON.stringify(secrets));

describeNotifyCases("local.file", {
  async start() {
    write();
    return { type: "secretstores.local.file", metadata: { secretsFile: file } };
  },
  put(name, value) {
    secrets[name] = value;
    write();
  },
  remove(name) {
    delete secrets[name];
    write();
  },
  field: (name) => name,
  // The file watch reports a change after its debounce; docs/notifications.md says within 1 s.
  delayMs: 1000,
  close: async () => rmSync(dir, { recursive: true, force: true }),
});
