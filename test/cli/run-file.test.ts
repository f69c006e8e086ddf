/** `keyward run -f`: dapr run's multi-app run files, the Dapr secrets quickstart's own included. */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { componentYaml } from "../helpers/sidecar.js";
import { keywardToEnd, workFolder, writeFiles } from "../helpers/keyward-run.js";
import { REPO_ROOT } from "../helpers/paths.js";

const example = join(REPO_ROOT, "examples/quickstart");

describe("keyward run -f", () => {
  it("the quickstart's run file as it is (javascript/sdk/dapr.yaml, npm start)", async () => {
    // The quickstart repository's layout: components two levels up from the run file.
    const root = workFolder("quickstart");
    const app = join(root, "javascript/sdk/order-processor");
    mkdirSync(app, { recursive: true });
    mkdirSync(join(root, "components"));
    copyFileSync(join(example, "components/local-secret-store.yaml"), join(root, "components/local-secret-store.yaml"));
    for (const f of ["index.js", "package.json", "secrets.json"])
      copyFileSync(join(example, "order-processor", f), join(app, f));
    writeFiles(join(root, "javascript/sdk"), {
      "dapr.yaml":
        'version: 1\ncommon:\n  resourcesPath: ../../components/\napps:\n  - appID: order-processor\n    appDirPath: ./order-processor/\n    command: ["npm", "start"]\n',
    });
    const { code, output } = await keywardToEnd(["run", "-f", "."], { cwd: join(root, "javascript/sdk") });
    assert.equal(code, 0, output);
    assert.match(output, /^== APP - order-processor == Fetched Secret: \{"secret":"YourPasskeyHere"\}$/m);
    assert.match(output, /^== KEYWARD - order-processor == .*dapr initialized/m);
  });

  it("two apps, each with its own sidecar, ports and env; ignored fields named once; the first failing exit code", async () => {
    const root = workFolder("two-apps");
    for (const d of ["alpha", "beta", "components"]) mkdirSync(join(root, d));
    writeFiles(root, {
      "secrets.json": JSON.stringify({ greeting: "hi" }),
      "dapr.yaml": `version: 1
name: two
common:
  resourcesPaths: [./components]
  appProtocol: http
  enableProfiling: false
  appLogDestination: console
  env:
    SHARED: common
    WHO: common
apps:
  - appID: alpha
    appDirPath: ./alpha/
    appPort: 6001
    placementHostAddress: localhost
    env:
      WHO: alpha
    command: ["${process.execPath}", "app.mjs"]
  - appID: beta
    appDirPath: ./beta/
    futureField: 1
    command: ["${process.execPath}", "app.mjs", "4"]
`,
    });
    writeFiles(join(root, "components"), {
      "s.yaml": componentYaml("s", "secretstores.local.file", { secretsFile: join(root, "secrets.json") }),
    });
    const app = `const r = await fetch(process.env.DAPR_HTTP_ENDPOINT + "/v1.0/secrets/s/greeting");
console.log([process.env.APP_ID, process.env.DAPR_HTTP_PORT, process.env.SHARED, process.env.WHO, process.env.APP_PORT ?? "-", JSON.stringify(await r.json())].join(" "));
process.exit(Number(process.argv[2] ?? 0));
`;
    writeFiles(join(root, "alpha"), { "app.mjs": app });
    writeFiles(join(root, "beta"), { "app.mjs": app });
    const { code, output } = await keywardToEnd(["run", "-f", join(root, "dapr.yaml")], { cwd: REPO_ROOT });
    assert.equal(code, 4, output);
    const a = /^== APP - alpha == alpha (\d+) common alpha 6001 \{"greeting":"hi"\}$/m.exec(output);
    const b = /^== APP - beta == beta (\d+) common common - \{"greeting":"hi"\}$/m.exec(output);
    assert.ok(a && b, output);
    assert.notEqual(a[1], b[1]);
    assert.equal(
      output.match(
        /run file fields accepted and ignored \(no meaning for Keyward\): appProtocol, enableProfiling, appLogDestination, placementHostAddress/g,
      )?.length,
      1,
      output,
    );
    assert.match(output, /run file fields not known to dapr run, ignored: futureField/);
    assert.match(output, /^== KEYWARD - alpha == .*Keyward stopped/m);
    assert.match(output, /^== KEYWARD - beta == .*Keyward stopped/m);
  });

  const broken: [string, string, RegExp][] = [
    ["no version", "apps:\n  - appDirPath: .\n", /required field 'version' not found/],
    ["no appDirPath", "version: 1\napps:\n  - appID: x\n", /apps\[0\]: required field 'appDirPath' not found/],
    [
      "a command that is a string",
      "version: 1\napps:\n  - appDirPath: .\n    command: npm start\n",
      /command must be a list/,
    ],
    ["not YAML", "version: [1\n", /YAML error/],
    [
      "a missing resources folder",
      "version: 1\ncommon:\n  resourcesPath: ./nope\napps:\n  - appDirPath: .\n",
      /nope does not exist/,
    ],
  ];
  for (const [name, text, re] of broken)
    it(`a run file with ${name}: exit 2 before anything starts`, async () => {
      const root = workFolder("broken");
      writeFiles(root, { "dapr.yaml": text });
      const { code, output } = await keywardToEnd(["run", "-f", root], { cwd: root });
      assert.equal(code, 2, output);
      assert.match(output, re);
      assert.doesNotMatch(output, /starting Keyward/);
    });
});
