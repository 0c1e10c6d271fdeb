import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

/**
 * The SDK's stdio transport, with the answers sent in one tick written to stdout together (one
 * writev): each write to a pipe is a system call, and group commit settles many calls at once.
 */
export class CorkedStdioServerTransport extends StdioServerTransport {
  private corked = false;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    super(process.stdin, out);
  }

  override send(message: JSONRPCMessage): Promise<void> {
    if (!this.corked) {
      this.corked = true;
      this.out.cork();
      process.nextTick(() => {
        this.corked = false;
        this.out.uncork();
      });
    }
    return super.send(message);
  }
}
