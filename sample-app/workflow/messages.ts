// The texts the photo workflow sends, in one place so that the simulator, Twilio and the tests agree on them.

/** The photo request: names the product, its merchant and the deadline (the original's wording, plus the deadline). */
export function requestText(input: { readonly name: string; readonly productName: string; readonly merchantName: string; readonly deadline: string }): string {
  return `Hello ${input.name}!\nPlease snap a pic of:\n  ${input.productName}\nCreated by:\n  ${input.merchantName}\nReply with the photo before ${formatTime(input.deadline)}.`;
}

/** The unassignment notice, after the deadline passed. */
export function unassignedText(input: { readonly name: string; readonly productName: string }): string {
  return `Hello ${input.name}.\nThe deadline for ${input.productName} passed, so you are unassigned from it.\nThanks anyway: we will text you the next request.`;
}

/** "14:05 UTC": texts are read on a phone, so the minute is enough. */
function formatTime(iso: string): string {
  return `${iso.slice(11, 16)} UTC`;
}
