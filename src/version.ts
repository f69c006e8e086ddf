/** @module Version strings: Keyward's own, and the daprd API generation it answers as. */
export const KEYWARD_VERSION = "0.1.0";
/** The daprd API generation Keyward answers as; SDKs only display it. */
export const DAPR_RUNTIME_VERSION = "1.18.0";
