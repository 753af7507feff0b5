// The Hello Retail demo in Chromium on the embedded backend (a data folder), as `npm start` runs it.
import { startHelloRetailDemo } from '../../sample-app/server/demo.ts';
import { describeHelloRetailInBrowser } from '../support/helloRetailBrowser.ts';
import { tempDir } from '../support/tempDir.ts';

describeHelloRetailInBrowser(
  'Hello Retail in Chromium',
  async () => {
    const temp = await tempDir('hello-retail-browser-');
    return { demo: await startHelloRetailDemo({ dir: temp.dir, port: 0 }), cleanup: temp.remove };
  },
  { screenshot: true },
);
