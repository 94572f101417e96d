import { setupI18n } from '../src/i18n.ts';

// The words and formats of a browser in the United States, as the assertions are written.
await setupI18n({ browser: ['en-US'] });
