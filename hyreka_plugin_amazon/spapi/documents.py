"""Streaming download of report documents: gunzip, charset, lines; never whole, never on disk.

The wire bytes are read undecoded and every gzip layer is peeled by its magic bytes, so a
document that is gzip (``compressionAlgorithm``), served with ``Content-Encoding: gzip``, or
both (gzip twice) comes out once as text, and an unfinished gzip stream is seen as truncation.
"""

from __future__ import annotations

import codecs
import logging
import zlib
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

from hyreka_plugin_amazon.reports.charsets import (
    CharsetError,
    is_latin_1,
    python_codec,
    repair_c1,
)
from hyreka_plugin_amazon.spapi.errors import (
    DocumentDecodeError,
    DocumentError,
    DocumentExpiredError,
    DocumentTooLargeError,
    DocumentTruncatedError,
    ServerError,
    ThrottledError,
)
from hyreka_plugin_amazon.spapi.models import ReportDocument
from hyreka_plugin_amazon.spapi.transport import Transport, checked_url

logger = logging.getLogger("hyreka_plugin_amazon.spapi")

OPERATION = "download"
CHUNK_SIZE = 16 * 1024  # read from the download at a time (about 200 KB of text once unpacked)
SNIFF_SIZE = 64 * 1024  # decompressed bytes used to guess a missing charset
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_GZIP_LAYERS = 3
# Limits of what a report document may be: far above Amazon's largest order reports (a line is
# a few KB, a 60-day report of a large seller a few hundred MB), far below what breaks a host.
MAX_LINE_CHARS = 1_000_000
MAX_DECOMPRESSED_BYTES = 4 * 1024**3
# A download up to this size (as sent: gzip) is kept in memory while it is read, so that its
# lines can be read a second time (``replay``) instead of being held decoded: about a tenth of
# the memory for Amazon's gzip documents (16 MB is a report of some 150,000 orders).
REPLAY_MAX_BYTES = 16 * 1024 * 1024
_LOG_PATH = "<report document download>"  # the pre-signed URL is never logged


def content_type_charset(content_type: str | None) -> str | None:
    """The ``charset=`` parameter of a Content-Type header, unquoted, or None."""
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def _decoder(codec: str) -> codecs.IncrementalDecoder:
    # utf-8-sig strips a BOM at the start and is utf-8 otherwise
    return codecs.getincrementaldecoder("utf-8-sig" if codec == "utf-8" else codec)("strict")


class _Gunzip:
    """Incremental gunzip of one layer, multi-member aware; ``finish`` detects truncation."""

    def __init__(self) -> None:
        self._inflater: zlib._Decompress | None = None  # None: between members
        self._pending = b""
        self._members = 0

    def feed(self, data: bytes) -> bytes:
        out: list[bytes] = []
        data = self._pending + data
        self._pending = b""
        while data:
            if self._inflater is None:
                if len(data) < 2:
                    self._pending = data
                    break
                if data[:2] != _GZIP_MAGIC:
                    if data.strip(b"\0"):
                        raise DocumentDecodeError("data after the end of the gzip stream")
                    break  # zero padding after the last member
                self._inflater = zlib.decompressobj(wbits=47)
            try:
                out.append(self._inflater.decompress(data))
            except zlib.error as exc:
                raise DocumentDecodeError(f"corrupt gzip data ({exc})") from None
            if self._inflater.eof:
                data = self._inflater.unused_data
                self._inflater = None
                self._members += 1
            else:
                data = b""
        return b"".join(out)

    def finish(self) -> None:
        if self._inflater is not None or self._members == 0 or self._pending:
            raise DocumentTruncatedError("the gzip stream ends before its end marker")


class _Unwrap:
    """Peels as many gzip layers as the data has (up to three), sniffing the magic bytes."""

    def __init__(self, depth: int = 0) -> None:
        self._depth = depth
        self._head = b""
        self._decided = False
        self._layer: tuple[_Gunzip, _Unwrap] | None = None  # this layer and what it wraps

    @property
    def layers(self) -> int | None:
        """Gzip layers found so far; None while too few bytes have arrived to tell."""
        if not self._decided:
            return None
        if self._layer is None:
            return 0
        inner = self._layer[1].layers
        return None if inner is None else inner + 1

    def feed(self, data: bytes) -> bytes:
        if not self._decided:
            self._head += data
            if len(self._head) < len(_GZIP_MAGIC):
                return b""
            data = self._decide()
        return self._pass(data)

    def finish(self) -> bytes:
        out = b"" if self._decided else self._pass(self._decide())
        if self._layer is None:
            return out
        gunzip, inner = self._layer
        gunzip.finish()
        return out + inner.finish()

    def _decide(self) -> bytes:
        data, self._head = self._head, b""
        self._decided = True
        if data.startswith(_GZIP_MAGIC) and self._depth < _MAX_GZIP_LAYERS:
            self._layer = (_Gunzip(), _Unwrap(self._depth + 1))
        return data

    def _pass(self, data: bytes) -> bytes:
        if self._layer is None:
            return data
        gunzip, inner = self._layer
        return inner.feed(gunzip.feed(data))


class _LineSplitter:
    """Splits text into lines at ``\\n``, each keeping its terminator (``\\r\\n`` or ``\\n``).

    Linear in a line's length: the pieces of an unfinished line are collected in a list and
    joined once. A line longer than ``max_chars`` ends the document with DocumentTooLargeError
    (its content is never quoted).
    """

    def __init__(self, max_chars: int) -> None:
        self._pieces: list[str] = []
        self._partial_chars = 0
        self._max_chars = max_chars
        self.count = 0

    def feed(self, text: str) -> list[str]:
        if "\n" not in text:
            self._keep(text)
            return []
        pieces = text.split("\n")
        first = pieces[0]
        if self._pieces:
            self._keep(first)
            first = "".join(self._pieces)
            self._pieces, self._partial_chars = [], 0
        pieces[0] = first
        rest = pieces.pop()
        for piece in pieces:
            self._check(len(piece))
            self.count += 1
        self._keep(rest)
        return [piece + "\n" for piece in pieces]

    def finish(self) -> list[str]:
        rest = "".join(self._pieces)
        self._pieces, self._partial_chars = [], 0
        if not rest:
            return []
        self.count += 1
        return [rest]

    def _keep(self, text: str) -> None:
        if text:
            self._partial_chars += len(text)
            self._check(self._partial_chars)
            self._pieces.append(text)

    def _check(self, chars: int) -> None:
        if chars > self._max_chars:
            raise DocumentTooLargeError(
                f"line {self.count + 1} of the report document is longer than "
                f"{self._max_chars:,} characters; no report of Amazon's has such lines",
                operation=OPERATION,
            )


class DocumentStream:
    """A report document as an iterator of decoded text lines, read while it downloads.

    Opening fetches the document's pre-signed URL (``fetch`` = getReportDocument), starts the
    download and reads ahead at most ``SNIFF_SIZE`` decompressed bytes to settle the charset.
    A 403 from the download host (URL expired) fetches a fresh URL once. A truncated download
    raises DocumentTruncatedError, whether it breaks off while opening or while lines are
    read (the unfinished last line is never yielded); it is not restarted here: the sync
    decides whether to read the document once more (from a fresh URL, skipping what it
    already handed over), the one place that repeats a broken download.

    A download with a declared size up to ``REPLAY_MAX_BYTES`` is kept as it arrived
    (``replayable``) until the stream is left: once its lines were read to the end,
    ``replay()`` yields them once more from memory, without a second download.
    """

    def __init__(
        self,
        *,
        transport: Transport,
        fetch: Callable[[], ReportDocument],
        fallback_charsets: Sequence[str] = ("cp1252",),
        on_bytes: Callable[[int], None] | None = None,
        max_line_chars: int = MAX_LINE_CHARS,
        max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES,
    ) -> None:
        self.max_line_chars = max_line_chars
        self.max_decompressed_bytes = max_decompressed_bytes
        self._transport = transport
        self._fetch = fetch
        self._fallback_charsets = tuple(fallback_charsets)
        self._on_bytes = on_bytes
        self.charset = ""  # the Python codec in use, set when the stream is open
        self.bytes_downloaded = 0  # wire bytes read (compressed if gzip)
        self.size: int | None = None  # wire bytes of the download (Content-Length), if known
        self._document = fetch()
        self._refetched = False
        self._response: requests.Response | None = None
        self._chunks: Iterator[bytes] = iter(())
        self._head_text = ""
        self._text_decoder: codecs.IncrementalDecoder = _decoder("utf-8")
        self._lines: Iterator[str] | None = None
        self._codec = "utf-8"  # the decoder's codec, set with the charset
        self._kept: list[bytes] | None = None  # the download as it arrived, for replay()
        self._read_through = False
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> DocumentStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
        self._kept = None  # the kept download goes with the stream

    def __iter__(self) -> Iterator[str]:
        if self._lines is None:
            self._lines = self._lines_of_download()
        return self._lines

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    @property
    def replayable(self) -> bool:
        """Whether the download is kept, so that ``replay`` can read its lines again."""
        return self._kept is not None

    def replay(self) -> Iterator[str]:
        """The document's lines once more, from the download kept in memory: the lines the
        first reading yielded, which must have ended (every line read), made the same way
        (its head, a UTF-8 BOM dropped, then the codec's incremental decoder)."""
        kept = self._kept
        if kept is None or not self._read_through:
            raise RuntimeError("replay() needs a kept download whose lines were all read")
        chunks = _unpacked(kept)
        decoder = _decoder(self._codec)
        head_text = decoder.decode(_head(chunks).removeprefix(codecs.BOM_UTF8))
        return self._lines_of(_LineSplitter(self.max_line_chars), decoder.decode, head_text, chunks)

    def _lines_of_download(self) -> Iterator[str]:
        splitter = _LineSplitter(self.max_line_chars)

        def decode(data: bytes, final: bool = False) -> str:
            try:
                text = self._text_decoder.decode(data, final)
            except UnicodeDecodeError as exc:
                raise DocumentDecodeError(
                    f"report document {self._document.document_id} is not valid "
                    f"{self.charset}: {_where(exc, splitter.count)}",
                    operation=OPERATION,
                ) from None
            return text

        yield from self._lines_of(splitter, decode, self._head_text, self._chunks)
        self._read_through = True
        self.close()

    def _lines_of(
        self,
        splitter: _LineSplitter,
        decode: Callable[..., str],
        head_text: str,
        chunks: Iterator[bytes],
    ) -> Iterator[str]:
        """The lines of the head's text and of the decoded chunks after it."""
        lines = _split(splitter, decode, head_text, chunks)
        if is_latin_1(self.charset):  # Amazon's EU files are Cp1252, whatever they declare
            return map(repair_c1, lines)
        return lines

    def _start(self) -> None:
        """Open the download and read ahead until the charset is settled."""
        response = self._open_response()
        self._response = response
        self.size = _content_length(response)
        if self.size is not None and self.size <= REPLAY_MAX_BYTES:
            self._kept = []
        self._chunks = self._decompressed(response)
        self._settle_charset(response, _head(self._chunks))

    def _open_response(self) -> requests.Response:
        while True:
            try:
                url = checked_url(self._document.url, "a report document URL")
            except ValueError as exc:
                raise DocumentError(str(exc), operation=OPERATION) from None
            response = self._transport.send(
                OPERATION,
                "GET",
                url,
                log_path=_LOG_PATH,
                headers={"Accept-Encoding": "gzip"},
                stream=True,
                secret_url=True,
            )
            if response.status_code == 200:
                return response
            response.close()
            if response.status_code == 403 and not self._refetched:
                self._refetched = True
                logger.info(
                    "report document %s: download URL refused (expired?), fetching a new one",
                    self._document.document_id,
                )
                self._document = self._fetch()
                continue
            if response.status_code == 403:
                raise DocumentExpiredError(
                    f"report document {self._document.document_id}: the download URL was "
                    "refused twice",
                    operation=OPERATION,
                    status=403,
                )
            # the body is not read: the download host's error XML may echo the signed request
            status = response.status_code
            kind = ServerError if status >= 500 else ThrottledError if status == 429 else None
            message = f"report document {self._document.document_id}: download answered {status}"
            raise (kind or DocumentError)(message, operation=OPERATION, status=status)

    def _decompressed(self, response: requests.Response) -> Iterator[bytes]:
        """The document's bytes with all gzip layers removed; raises on truncation."""
        document = self._document
        unwrap = _Unwrap()
        expected = _content_length(response)
        received = produced = 0
        try:
            for raw in response.raw.stream(CHUNK_SIZE, decode_content=False):
                if self._kept is not None:
                    self._kept.append(raw)
                received += len(raw)
                self.bytes_downloaded += len(raw)
                if self._on_bytes is not None:
                    self._on_bytes(len(raw))
                data = unwrap.feed(raw)
                self._check_declared_gzip(unwrap.layers)
                produced += len(data)
                if produced > self.max_decompressed_bytes:
                    raise DocumentTooLargeError(
                        f"report document {document.document_id} unpacks to more than "
                        f"{self.max_decompressed_bytes:,} bytes ({received:,} bytes downloaded);"
                        " no report of Amazon's is that large",
                        operation=OPERATION,
                    )
                if data:
                    yield data
        except (Urllib3Error, OSError, requests.RequestException) as exc:
            raise DocumentTruncatedError(
                f"download of report document {document.document_id} broke off after "
                f"{received} bytes ({type(exc).__name__})",
                operation=OPERATION,
            ) from None
        if expected is not None and received != expected:
            raise DocumentTruncatedError(
                f"download of report document {document.document_id} has {received} of "
                f"{expected} bytes",
                operation=OPERATION,
            )
        try:
            if received == 0 and document.compression_algorithm == "GZIP":
                raise DocumentTruncatedError("empty body")
            tail = unwrap.finish()
        except DocumentTruncatedError:
            raise DocumentTruncatedError(
                f"report document {document.document_id}: the gzip stream is cut short "
                f"after {received} bytes",
                operation=OPERATION,
            ) from None
        self._check_declared_gzip(unwrap.layers)
        if tail:
            yield tail

    def _check_declared_gzip(self, layers: int | None) -> None:
        if layers == 0 and self._document.compression_algorithm == "GZIP":
            raise DocumentDecodeError(
                f"report document {self._document.document_id} is declared GZIP but is not gzip",
                operation=OPERATION,
            )

    def _settle_charset(self, response: requests.Response, head: bytes) -> None:
        declared = content_type_charset(response.headers.get("Content-Type"))
        codec: str | None = None
        if declared:
            try:
                codec = python_codec(declared)
            except CharsetError:
                codec = None
        if declared and codec is None:
            logger.warning(
                "report document %s: unknown charset %r, guessing",
                self._document.document_id,
                declared,
            )
        if head.startswith(codecs.BOM_UTF8):  # a UTF-8 BOM, seen even before Cp1252 text
            head = head[len(codecs.BOM_UTF8) :]
        candidates = (codec,) if codec else ("utf-8", *self._fallback_charsets)
        for candidate in candidates:
            decoder = _decoder(candidate)
            try:
                self._head_text = decoder.decode(head)
            except UnicodeDecodeError as exc:
                if codec:
                    raise DocumentDecodeError(
                        f"report document {self._document.document_id} is not valid {codec}: "
                        f"{_where(exc, 0)}",
                        operation=OPERATION,
                    ) from None
                continue
            self.charset = codecs.lookup(candidate).name
            self._codec = candidate
            self._text_decoder = decoder
            return
        raise DocumentDecodeError(
            f"report document {self._document.document_id} has no charset and is neither "
            f"UTF-8 nor {', '.join(self._fallback_charsets) or 'a fallback charset'}",
            operation=OPERATION,
        )


def _head(chunks: Iterator[bytes]) -> bytes:
    """The first chunks, at least ``SNIFF_SIZE`` bytes (or all): what settles the charset."""
    head: list[bytes] = []
    size = 0
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size >= SNIFF_SIZE:
            break
    return b"".join(head)


def _unpacked(kept: list[bytes]) -> Iterator[bytes]:
    """A kept download with its gzip layers removed (it was checked when it was read)."""
    unwrap = _Unwrap()
    for raw in kept:
        data = unwrap.feed(raw)
        if data:
            yield data
    tail = unwrap.finish()
    if tail:
        yield tail


def _split(
    splitter: _LineSplitter, decode: Callable[..., str], head_text: str, chunks: Iterator[bytes]
) -> Iterator[str]:
    yield from splitter.feed(head_text)
    for chunk in chunks:
        yield from splitter.feed(decode(chunk))
    yield from splitter.feed(decode(b"", final=True)) + splitter.finish()


def _where(exc: UnicodeDecodeError, lines_before: int) -> str:
    """Names the offending byte and its line, never the text around it (it may be PII)."""
    line = lines_before + 1 + exc.object[: exc.start].count(b"\n")
    return f"byte 0x{exc.object[exc.start]:02x} in line {line}"


def _content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None or "chunked" in response.headers.get("Transfer-Encoding", "").lower():
        return None
    try:
        return int(value)
    except ValueError:
        return None
