/**
 * Interop with PyKMIP's client: Debian's python3-pykmip (0.10) runs Discover Versions and Query
 * through its low-level KMIPProxy (pykmip_client.py) against `kmipd serve` over mutual TLS, in
 * every protocol version that client speaks (1.0 to 2.0), and once more over TLS 1.2 only.
 * Certificates come from the dev PKI (clientAuth EKU, which PyKMIP-style peers check).
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { repoRoot } from '../support/shared.js';
import { type PykmipServer, pykmipSkipReason, runPythonJson, startPykmipServer } from './pykmip-support.js';

const CLIENT = join(repoRoot, 'test/interop/pykmip_client.py');

/** What pykmip_client.py prints. */
interface PykmipResult {
  version: string;
  tls: string;
  cipher: string;
  discover?: { status: string; reason?: string; message?: string; versions: string[] };
  query: { status: string; reason?: string; message?: string; operations: string[]; objectTypes: string[]; vendorIdentification: string | null };
}

const skip = pykmipSkipReason();
let server: PykmipServer | undefined;

if (!skip) {
  t.before(async () => {
    server = await startPykmipServer();
  });
  t.teardown(async () => {
    await server?.stop();
  });
}

function runPykmip(version: string, sslVersion?: string): Promise<PykmipResult> {
  return runPythonJson<PykmipResult>(server!, CLIENT, [version, ...(sslVersion ? [sslVersion] : [])]);
}

function checkAnswers(t: Test, version: string, r: PykmipResult): void {
  t.comment(`KMIP ${r.version} over ${r.tls} ${r.cipher}`);
  if (version === '1.0') {
    t.notOk(r.discover, 'Discover Versions is not sent in 1.0 (it exists from 1.1 on)');
  } else {
    t.equal(r.discover?.status, 'Success', `Discover Versions succeeds${r.discover?.message ? `: ${r.discover.message}` : ''}`);
    t.ok(r.discover?.versions.includes(version), `the versions offered include ${version} (${r.discover?.versions.join(', ')})`);
  }
  t.equal(r.query.status, 'Success', `Query succeeds${r.query.message ? `: ${r.query.message}` : ''}`);
  t.ok(r.query.operations.includes('Query'), 'Query lists Query');
  t.equal(r.query.operations.includes('DiscoverVersions'), version !== '1.0', 'Query lists Discover Versions where it exists (1.1 on)');
  t.equal(r.query.vendorIdentification, 'kmipd', 'the vendor identification is kmipd');
}

for (const version of ['1.0', '1.1', '1.2', '1.3', '1.4', '2.0']) {
  t.test(`PyKMIP's client runs Discover Versions and Query against kmipd in KMIP ${version}`, skip ? { skip } : {}, async (t) => {
    let result: PykmipResult;
    try {
      result = await runPykmip(version);
    } catch (err) {
      t.fail((err as Error).message);
      return;
    }
    checkAnswers(t, version, result);
  });
}

t.test("PyKMIP's client also gets its answers over TLS 1.2, as PyKMIP-based tools often negotiate", skip ? { skip } : {}, async (t) => {
  const r = await runPykmip('1.2', 'PROTOCOL_TLSv1_2');
  t.equal(r.tls, 'TLSv1.2', 'TLS 1.2 was negotiated');
  checkAnswers(t, '1.2', r);
});
