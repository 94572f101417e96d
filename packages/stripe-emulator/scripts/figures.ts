/**
 * Prints what the emulator serves: its routes, the parameters it validates, the versions it renders.
 *   pnpm --filter @miniapp-billing/stripe-emulator spec:figures
 */
import { routes } from '../src/api.ts';
import { countParams, operationSchema } from '../src/validate.ts';
import { SERVED_VERSIONS, servedVersions, shapeOf } from '../src/versions.ts';

let params = 0;
const resources = new Set<string>();
for (const [method, path] of routes) {
  const schema = operationSchema(method, path);
  if (!schema) throw new Error(`${method} ${path} has no schema`);
  params += countParams(schema);
  resources.add(
    path
      .split('/')
      .slice(2, path.startsWith('/v1/checkout') || path.startsWith('/v1/billing_portal') ? 4 : 3)
      .join('/'),
  );
}
console.log(`${routes.length} routes over ${resources.size} resources (${[...resources].sort().join(', ')})`);
console.log(`${params} parameters validated (leaf parameters of those operations, from spec/params.json)`);
const served = servedVersions();
const current = served.filter((v) => shapeOf(v) === 'current');
console.log(
  `${served.length} Stripe API versions served (${served[0]} to ${served.at(-1)}): ${served.length - current.length} with the shapes of ${SERVED_VERSIONS[1]}, ${current.length} with those of ${SERVED_VERSIONS[0]}`,
);
