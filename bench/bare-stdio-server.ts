// Reference for the stdio ingest benchmark: a bare MCP SDK server over StdioServerTransport whose
// one tool does nothing. Spawned by the benchmark's StdioClientTransport.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { bareMcpServer } from './bare-tool.js';

const server = bareMcpServer();
const transport = new StdioServerTransport();
transport.onclose = () => process.exit(0);
process.stdin.once('end', () => process.exit(0));
await server.connect(transport);
