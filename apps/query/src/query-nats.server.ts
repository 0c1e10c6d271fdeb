import { ServerNats } from '@nestjs/microservices';

/** Routes remembered at most: one per subscribed pattern is all it takes. */
const MAX_ROUTES = 256;

/**
 * Nest's NATS server with each pattern's route worked out once. Nest turns a pattern into its route
 * on every request, trying JSON.parse first (a pattern may be an object): for a plain subject such as
 * `get-session` that throws, and building the exception took a tenth of the query app's CPU in its
 * profile. The patterns are the subjects it subscribed to, so the routes are few.
 */
export class QueryNatsServer extends ServerNats {
  private readonly routes = new Map<string, string>();

  override getRouteFromPattern(pattern: string): string {
    let route = this.routes.get(pattern);
    if (route === undefined) {
      route = super.getRouteFromPattern(pattern);
      if (this.routes.size < MAX_ROUTES) this.routes.set(pattern, route);
    }
    return route;
  }
}
