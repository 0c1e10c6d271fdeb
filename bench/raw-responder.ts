// Reference for the get-session round trip: a trivial NATS responder in a process of its own (as the
// query app is), answering every request on RESPONDER_SUBJECT with RESPONDER_BYTES bytes.
import { connect } from '@nats-io/transport-node';

const nc = await connect({ servers: process.env.NATS_URL!, noAsyncTraces: true });
const payload = Buffer.alloc(Number(process.env.RESPONDER_BYTES), 'x');
nc.subscribe(process.env.RESPONDER_SUBJECT!, { callback: (_err, msg) => void msg.respond(payload) });
await nc.flush();
process.stdout.write('ready\n');
process.once('SIGTERM', () => void nc.close().then(() => process.exit(0)));
