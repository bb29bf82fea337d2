import { port } from './port.ts';
import { traced } from './tracing.ts';

export interface SecretSource {
  linkSigningKey(): Promise<string>;
}

/** Deployed: the link-signing secret from Secrets Manager, read once per container (the client is imported then). */
function secretsManagerSource(): SecretSource {
  let cached: Promise<string> | undefined;
  return {
    linkSigningKey: () =>
      (cached ??= import('./aws/secrets-manager.ts')
        .then(({ GetSecretValueCommand, SecretsManagerClient }) =>
          traced(new SecretsManagerClient({})).send(new GetSecretValueCommand({ SecretId: process.env.LINK_SECRET_ARN })),
        )
        .then((out) => {
          if (!out.SecretString) throw new Error('Link signing secret is empty');
          return out.SecretString;
        })),
  };
}

export const secrets = port<SecretSource>(() =>
  process.env.LINK_SECRET ? { linkSigningKey: async () => process.env.LINK_SECRET! } : secretsManagerSource(),
);
