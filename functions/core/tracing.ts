import { Tracer } from '@aws-lambda-powertools/tracer';

/** X-Ray subsegments for every AWS SDK call; a no-op off the Lambda runtime (Powertools detects it). */
export const tracer = new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'prm' });

export function traced<T extends object>(client: T): T {
  return tracer.captureAWSv3Client(client);
}
