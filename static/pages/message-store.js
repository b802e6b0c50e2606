// The messages of one conversation that a page holds: each once (by id, since replay, live pushes
// and history pages overlap), and how far they are complete. Every seq up to contiguousSeq is held
// (or is older history to scroll back to); a message beyond contiguousSeq + 1 shows a gap, which
// the page fills by cursor after anchorId (docs/realtime.md, "Catching up and gap detection").
// A held message is replaced by a later version of it (an edit, or its tombstone after a delete).

export class MessageStore {
  constructor() {
    this.byId = new Map();
    this.idBySeq = new Map();
    this.contiguousSeq = 0;
    this.newestSeq = 0;
    this.oldestId = null;
  }

  // The newest page of history (oldest first): what comes before it is history, not a gap.
  startWith(newestPage) {
    if (newestPage.length) this.contiguousSeq = Math.max(this.contiguousSeq, newestPage[0].seq - 1);
    return newestPage.filter((message) => this.add(message));
  }

  // Keeps a message once; returns whether it was new.
  add(message) {
    if (this.byId.has(message.id)) return false;
    this.byId.set(message.id, message);
    this.idBySeq.set(message.seq, message.id);
    this.newestSeq = Math.max(this.newestSeq, message.seq);
    while (this.idBySeq.has(this.contiguousSeq + 1)) this.contiguousSeq += 1;
    if (this.oldestId === null || message.id < this.oldestId) this.oldestId = message.id;
    return true;
  }

  has(id) {
    return this.byId.has(id);
  }

  // Replaces the held message of this id by a later version of it; returns whether it did. A delete is
  // final and an edit replaces an earlier edit, so pushes and re-read pages may arrive in any order.
  replace(message) {
    const held = this.byId.get(message.id);
    if (!held || held.deletedAt) return false;
    if (!message.deletedAt && versionTime(message) <= versionTime(held)) return false;
    this.byId.set(message.id, message);
    return true;
  }

  get hasGap() {
    return this.newestSeq > this.contiguousSeq;
  }

  // The id up to which every message is held: what `join` and a gap's catch-up ask to resume after.
  anchorId() {
    return this.contiguousSeq === 0 ? 0 : this.idBySeq.get(this.contiguousSeq) ?? 0;
  }
}

const versionTime = (message) => (message.editedAt ? Date.parse(message.editedAt) : 0);
