// Asks the query app over NATS request/reply and prints the answer, as any program on NATS may.
//   node examples/nats-request.mjs get-session '{"session_id":"demo-1","owner":"local"}'
//   node examples/nats-request.mjs query-audit '{"decision":"denied","limit":20}'
import { connect } from '@nats-io/transport-node';

const [subject, body = '{}'] = process.argv.slice(2);
if (!subject) {
  console.error('usage: node examples/nats-request.mjs <subject, e.g. get-session> [JSON request]');
  process.exit(2);
}
// With auth on (nats/users.conf), as a NATS user such as `dashboards`: NATS_USER and NATS_PASSWORD;
// that user's replies come to _INBOX.<user>.
const { NATS_URL = 'nats://127.0.0.1:4222', NATS_USER: user, NATS_PASSWORD: pass } = process.env;
const nc = await connect({ servers: NATS_URL, user, pass, inboxPrefix: user && `_INBOX.${user}` });
try {
  const answer = await nc.request(subject, body, { timeout: 5000 });
  console.log(answer.string());
} finally {
  await nc.close();
}
