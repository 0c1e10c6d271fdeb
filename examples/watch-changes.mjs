// Prints each session change as the projector publishes it, from core NATS.
//   node examples/watch-changes.mjs             every session
//   node examples/watch-changes.mjs shop        only sessions of project "shop"
import { connect } from '@nats-io/transport-node';

// A project name becomes one subject token: bytes outside A-Z a-z 0-9 _ - are written ~XX (hex).
const projectToken = (project) =>
  [...new TextEncoder().encode(project)]
    .map((byte) =>
      /[A-Za-z0-9_-]/.test(String.fromCharCode(byte)) && byte < 0x80 ? String.fromCharCode(byte) : `~${byte.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');

const project = process.argv[2];
const subject = project ? `pytest.changes.project.*.${projectToken(project)}` : 'pytest.changes.session.>';
// With auth on (nats/users.conf), as a NATS user such as `dashboards`: NATS_USER and NATS_PASSWORD;
// that user's replies come to _INBOX.<user>.
const { NATS_URL = 'nats://127.0.0.1:4222', NATS_USER: user, NATS_PASSWORD: pass } = process.env;
const nc = await connect({ servers: NATS_URL, user, pass, inboxPrefix: user && `_INBOX.${user}` });
console.log(`watching ${subject}`);
for await (const message of nc.subscribe(subject)) {
  const { owner, session_id, status, counts } = message.json();
  console.log(`${owner}/${session_id} ${status}: ${counts?.passed ?? 0} passed, ${counts?.failed ?? 0} failed of ${counts?.total ?? 0}`);
}
