import { System } from './dist/test/harness/system.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
const sys = await System.start();
const stageMeans = async () => {
  const text = await (await fetch(sys.gateway.metricsUrl)).text();
  const v = (re) => Number(text.split('\n').find((l) => re.test(l))?.split(' ').pop() ?? 0);
  return { pub: v(/stage_duration_seconds_sum\{.*publish/), pubN: v(/stage_duration_seconds_count\{.*publish/), tot: v(/tool_call_duration_seconds_sum\{.*record_test_outcome/), n: v(/tool_call_duration_seconds_count\{.*record_test_outcome/) };
};
try {
  const client = new Client({ name: 'x', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(sys.gateway.mcpUrl));
  await client.callTool({ name: 'record_session_start', arguments: { environment: { os: 'L', python_version: '3' } } });
  let k = 0;
  const round = async (label) => {
    for (let i = 0; i < 300; i++) await client.callTool({ name: 'record_test_outcome', arguments: { nodeid: `t::${k++}`, outcome: 'passed', duration: 0 } });
    const a = await stageMeans();
    const lat = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      await client.callTool({ name: 'record_test_outcome', arguments: { nodeid: `t::${k++}`, outcome: 'passed', duration: 0 } });
      lat.push(performance.now() - t);
    }
    const b = await stageMeans();
    lat.sort((x, y) => x - y);
    console.log(label, 'client p50', lat[1000].toFixed(3), 'ms; gateway mean', ((b.tot - a.tot) / (b.n - a.n) * 1000).toFixed(3), 'publish mean', ((b.pub - a.pub) / (b.pubN - a.pubN) * 1000).toFixed(3));
  };
  await round('with projector   ');
  await sys.projector.stop();
  await round('projector stopped');
  await round('projector stopped');
} finally {
  await sys.stop();
}
