// What the local stack uses of kinesalite beyond test/aws/vendor.d.ts (which declares the module): its data folder.
declare module 'kinesalite' {
  interface KinesaliteOptions {
    /** Keep streams in LevelDB in this folder (kinesalite's optional leveldown) instead of memory. */
    path?: string;
  }
}
