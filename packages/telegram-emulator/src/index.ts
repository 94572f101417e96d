export { TelegramError } from './errors.ts';
export { callMethod, METHODS } from './methods.ts';
export { type EmulatorOptions, type RunningTelegramEmulator, startTelegramEmulator } from './server.ts';
export { SUBSCRIPTION_PERIOD, TelegramState } from './state.ts';
