// The Hello Retail web demo unchanged on the local AWS stack (`npm run local:aws`'s servers and resources, started by
// this test): the Kinesis stream as the log, the views, entity streams, timers and keys in DynamoDB Local, the photos
// in s3rver. The same browser steps as on the embedded backend.
import { startLocalAwsStack, type LocalAwsStack } from '../../infra/local/stack.ts';
import { helloRetailProjections } from '../../projections/index.ts';
import { startHelloRetailDemo } from '../../sample-app/server/demo.ts';
import { createAwsClients } from '../../src/aws/index.ts';
import { awsEndpoints } from '../aws/endpoints.ts';
import { describeHelloRetailInBrowser } from '../support/helloRetailBrowser.ts';
import { tempDir } from '../support/tempDir.ts';

const aws = awsEndpoints();
const prefix = 'hrweb-';

describeHelloRetailInBrowser(
  'Hello Retail in Chromium on the local AWS stack',
  async () => {
    const stack: LocalAwsStack = await startLocalAwsStack({ portBase: 0, prefix, projections: helloRetailProjections, shards: 2 });
    const clients = await createAwsClients({ region: stack.env['AWS_REGION'] ?? 'us-east-1', credentials: { accessKeyId: stack.env['AWS_ACCESS_KEY_ID'] ?? '', secretAccessKey: stack.env['AWS_SECRET_ACCESS_KEY'] ?? '' }, endpoints: stack.endpoints, env: {} });
    const temp = await tempDir('hello-retail-aws-browser-');
    try {
      const demo = await startHelloRetailDemo({ dir: temp.dir, port: 0, backend: { kind: 'aws', prefix, clients } });
      return {
        demo,
        cleanup: async () => {
          clients.destroy();
          await stack.stop();
          await temp.remove();
        },
      };
    } catch (error) {
      clients.destroy();
      await stack.stop();
      await temp.remove();
      throw error;
    }
  },
  // DynamoDB Local needs Java.
  { skip: 'unavailable' in aws.dynamodb },
);
