"""Group commit for concurrent appenders (DESIGN.md, principle 5: a message is
acknowledged only once it is durably in the log).

Threads call :meth:`GroupCommitter.append` and block; one committer thread takes
everything queued at that moment (up to ``max_batch`` entries) and appends it in a single
transaction, so many appends share one fsync. Each caller is answered only after that
commit returned. If a combined batch is refused (a replayed message id in one of the
submissions), the submissions are committed one by one, so only the faulty one fails.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future

from csbm.store.log import LedgerStore
from csbm.store.records import AppendResult, EntryRecord

_Submission = tuple[Sequence[EntryRecord], "Future[list[AppendResult]]"]


class GroupCommitter:
    """Merge concurrent appends into few durable commits. Use as a context manager or call
    :meth:`close` to stop the committer thread."""

    def __init__(self, store: LedgerStore, max_batch: int = 1000) -> None:
        self.store = store
        self.max_batch = max_batch
        self.commits = 0
        self._queue: queue.Queue[_Submission | None] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="csbm-group-commit", daemon=True)
        self._thread.start()

    def __enter__(self) -> GroupCommitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, records: Sequence[EntryRecord]) -> Future[list[AppendResult]]:
        """Queue records; the future resolves once they are committed."""
        if self._closed:
            raise RuntimeError("the group committer is closed")
        future: Future[list[AppendResult]] = Future()
        self._queue.put((list(records), future))
        return future

    def append(self, records: Sequence[EntryRecord]) -> list[AppendResult]:
        """Append and wait until the commit holding these records has returned."""
        return self.submit(records).result()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            size = len(first[0])
            stop = False
            while size < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
                size += len(item[0])
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Submission]) -> None:
        records = [r for recs, _f in batch for r in recs]
        try:
            results = self.store.append(records)
            self.commits += 1
        except Exception:
            if len(batch) == 1:
                self._one(batch[0])
                return
            for submission in batch:
                self._one(submission)
            return
        pos = 0
        for recs, future in batch:
            future.set_result(results[pos : pos + len(recs)])
            pos += len(recs)

    def _one(self, submission: _Submission) -> None:
        records, future = submission
        try:
            result = self.store.append(records)
            self.commits += 1
        except Exception as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
