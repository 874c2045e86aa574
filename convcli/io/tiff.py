"""TIFF through tifffile, a strip at a time: read rows without decoding the whole file.

:class:`TiffRows` opens the first image of a TIFF (classic or BigTIFF, striped or tiled,
uncompressed, deflate or packbits; LZW, JPEG and the rest with the optional
``imagecodecs``) and reads any range of rows by decoding only the strips or tiles that
cover it. The functional form, for callers that want ``(path, rows) -> array``::

    read_tiff_rows("huge.tif", 1000, 1064)        # rows 1000:1064, shape (64, W[, S])

Writing is :mod:`convcli.io.tiff_write`. tifffile is imported when a TIFF is opened: every
read asks :func:`is_tiff`, and a run without a TIFF saves its import (about 10 ms).
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from types import TracebackType
from typing import Any, cast

import numpy as np

from convcli.errors import ImageError, reason
from convcli.io.meta import ImageMeta

Source = str | os.PathLike[str] | bytes

# tifffile logs what it finds odd in a file (an orientation of 0, say) as warnings, which
# Python prints on stderr when nobody listens: convcli reports a file's trouble itself, in
# one line, or reads it; a script's stderr gets no library chatter
logging.getLogger("tifffile").addHandler(logging.NullHandler())

_PHOTOMETRIC = {1: "gray", 2: "rgb"}  # PhotometricInterpretation: MinIsBlack, RGB
_UNCOMPRESSED = 1  # Compression: none
_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)
_EXIF_TAGS = (270, 271, 272, 274, 305, 306, 315, 316, 33432, 34665, 34853)
"""Tags :func:`convcli.io.meta.read_meta` builds an EXIF block from (descriptive text, the
orientation, the EXIF and GPS sub-IFDs)."""
_ICC, _X_RESOLUTION, _Y_RESOLUTION, _RESOLUTION_UNIT = 34675, 282, 283, 296


class TiffUnsupported(Exception):
    """A TIFF this module does not read (palette, YCbCr, CMYK, planar, rotated): use Pillow."""


@dataclass(frozen=True)
class TiffLayout:
    """What the first image of a TIFF holds.

    Attributes
    ----------
    height, width : int
        Pixels.
    samples : int
        Samples per pixel, alpha included (1 to 4).
    color : {"gray", "rgb"}
        What the colour samples are.
    alpha : bool
        Whether the last sample is alpha.
    dtype : numpy.dtype
        uint8, uint16, float32 or float64.
    straight_alpha : bool
        Whether that alpha is marked unassociated (colour not multiplied by it).
    """

    height: int
    width: int
    samples: int
    color: str
    alpha: bool
    dtype: np.dtype[Any]
    straight_alpha: bool = False

    @property
    def bit_depth(self) -> int:
        """8 or 16 for integer samples, 32 for float (as :mod:`convcli.io.read` reports)."""
        return 32 if self.dtype.kind == "f" else self.dtype.itemsize * 8

    @property
    def max_value(self) -> float:
        """The value of full intensity: 255, 65535, or 1.0 for float samples."""
        return 1.0 if self.dtype.kind == "f" else float(np.iinfo(self.dtype).max)

    @property
    def mode(self) -> str:
        """A Pillow-like mode word for the summary (``RGB``, ``I;16``, ``RGBA;16``, ``F``)."""
        if self.bit_depth == 32:
            return "F"
        base = ("L" if self.color == "gray" else "RGB") + ("A" if self.alpha else "")
        if base == "L" and self.bit_depth == 16:
            return "I;16"  # Pillow's word, as the summary shows it for other 16-bit gray files
        return base if self.bit_depth == 8 else f"{base};16"


def _name(source: Source) -> str:
    return "<stdin>" if isinstance(source, bytes | bytearray) else os.fspath(source)


class TiffRows:
    """The first image of a TIFF file, read a range of rows at a time.

    Parameters
    ----------
    source : str, path-like or bytes
        A TIFF file, or its bytes.

    Raises
    ------
    TiffUnsupported
        A layout read with Pillow instead (not an error for the user).
    ImageError
        A broken file: truncated, strips missing, a header that does not match its data,
        or a compression that needs ``imagecodecs`` when it is not installed.

    Examples
    --------
    >>> import io, numpy as np, tifffile
    >>> buf = io.BytesIO()
    >>> tifffile.imwrite(buf, np.arange(12, dtype=np.uint8).reshape(4, 3), rowsperstrip=1)
    >>> with TiffRows(buf.getvalue()) as tif:
    ...     tif.layout.height, tif.read(1, 3).tolist()
    (4, [[3, 4, 5], [6, 7, 8]])
    """

    def __init__(self, source: Source) -> None:
        import tifffile

        self.name = _name(source)
        handle = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
        # what tifffile's parser raises on a damaged header, beyond its own TiffFileError
        damaged = (ValueError, TypeError, IndexError, KeyError, tifffile.TiffFileError)
        try:
            self._file = tifffile.TiffFile(handle)
        except FileNotFoundError:
            msg = f"{self.name}: no such file"
            raise ImageError(msg) from None
        except (OSError, *damaged) as exc:
            if _is_bigtiff(source):  # Pillow reads no BigTIFF that tifffile cannot
                msg = f"{self.name}: cannot read BigTIFF: {reason(exc)}"
                raise ImageError(msg) from None
            raise TiffUnsupported(reason(exc)) from None
        try:
            try:
                self._page = self._file.pages.first
                self.layout = _layout(self._page)
            except damaged as exc:
                # a damaged header (no first page, a size of two values): Pillow's turn,
                # which reads what it can or says in one line that it cannot
                raise TiffUnsupported(reason(exc)) from None
            self._check_segments()
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> TiffRows:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    @property
    def pages(self) -> int:
        """Images (pages) in the file."""
        return len(self._file.pages)

    def plain_meta(self, color: str) -> ImageMeta | None:
        """What :func:`~convcli.io.meta.read_meta` reads from this TIFF through Pillow, read
        from its tags without Pillow (about 12 ms of start-up), for a TIFF with no EXIF to
        build: None when it has any tag an EXIF block is made of, or a resolution or
        profile stored in an unusual way (Pillow reads it then).

        A resolution needs both XResolution and YResolution; a missing ResolutionUnit
        counts as inches, as the TIFF specification says.
        """
        tags = self._page.tags
        if any(code in tags for code in _EXIF_TAGS):
            return None
        icc = tags.get(_ICC)
        if icc is not None and not isinstance(icc.value, bytes):
            return None
        x, y = tags.get(_X_RESOLUTION), tags.get(_Y_RESOLUTION)
        dpi = None
        if x is not None and y is not None:
            dpi_x, dpi_y = _resolution(x), _resolution(y)
            if dpi_x is None or dpi_y is None:
                return None
            unit = tags.get(_RESOLUTION_UNIT)
            per_inch = {None: 1.0, 2: 1.0, 3: 2.54}.get(None if unit is None else int(unit.value))
            if dpi_x and dpi_y and per_inch is not None:  # x * 1.0 is x: Pillow's numbers
                dpi = (dpi_x * per_inch, dpi_y * per_inch)
        return ImageMeta((icc.value or None) if icc is not None else None, None, dpi, color)

    @property
    def shape(self) -> tuple[int, ...]:
        """``(H, W)`` for one sample, else ``(H, W, S)`` (alpha included)."""
        lay = self.layout
        return (
            (lay.height, lay.width) if lay.samples == 1 else (lay.height, lay.width, lay.samples)
        )

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop``, decoding only the strips or tiles that cover them.

        Raises
        ------
        ImageError
            A strip or tile that cannot be decoded.
        """
        start, stop = max(0, start), min(self.layout.height, stop)
        out = np.zeros((max(0, stop - start), self.layout.width, self.layout.samples),
                       self.layout.dtype)  # fmt: skip
        chunk = int(self._page.chunks[0])
        across = int(self._page.chunked[1])
        raw = self._page.compression == _UNCOMPRESSED and not self._page.is_tiled
        for band in range(start // chunk, -(-stop // chunk) if stop > start else 0):
            if raw:  # uncompressed strips: read just the rows asked for, not the whole strip
                self._paste_rows(band, chunk, out, start)
                continue
            for col in range(across):
                self._paste(band * across + col, out, start)
        return out if self.layout.samples > 1 else out[..., 0]

    def _paste_rows(self, index: int, chunk: int, out: np.ndarray, start: int) -> None:
        """Copy the rows of uncompressed strip ``index`` that ``out`` holds, reading only them."""
        if not self._page.databytecounts[index]:
            return
        first = index * chunk
        r0, r1 = max(first, start), min(first + chunk, start + out.shape[0])
        lay = self.layout
        row_bytes = lay.width * lay.samples * lay.dtype.itemsize
        stored = lay.dtype.newbyteorder(self._file.byteorder)
        target = out[r0 - start : r1 - start]
        wanted = (r1 - r0) * row_bytes
        offset = self._page.dataoffsets[index] + (r0 - first) * row_bytes
        if stored == out.dtype and target.flags.c_contiguous:  # straight into place
            got = self._read_into(offset, target.reshape(-1).view(np.uint8))
            data = None
        else:
            data = self._read_at(offset, wanted)
            got = len(data)
        if got != wanted:  # checked at open: the file shrank since
            msg = f"{self.name}: truncated TIFF: strip {index} ends early (did the file change?)"
            raise ImageError(msg)
        if data is not None:
            target[...] = np.frombuffer(data, stored).reshape(r1 - r0, lay.width, lay.samples)

    def _read_into(self, offset: int, target: np.ndarray) -> int:
        """Read bytes at ``offset`` into ``target``; how many came (fewer at the file's end).

        A file is read with ``pread``, which moves no file position: processes forked
        while it is open (:mod:`convcli.pipeline.shared`) share the position, not their reads.
        """
        fh = self._file.filehandle
        if fh.is_file:
            view, got = memoryview(cast(bytearray, target)), 0
            while got < view.nbytes and (n := os.preadv(fh.fileno(), [view[got:]], offset + got)):
                got += n
            return got
        with fh.lock:
            fh.seek(offset)
            return int(fh.readinto(cast(bytearray, target)))

    def _read_at(self, offset: int, count: int) -> bytes:
        """``count`` bytes at ``offset`` (fewer at the file's end), as :meth:`_read_into`."""
        fh = self._file.filehandle
        if not fh.is_file:
            with fh.lock:
                fh.seek(offset)
                return bytes(fh.read(count))
        parts, got = [], 0
        while got < count and (part := os.pread(fh.fileno(), count - got, offset + got)):
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    def _paste(self, index: int, out: np.ndarray, start: int) -> None:
        """Decode segment ``index`` into ``out`` (which holds rows from ``start``)."""
        offset, count = self._page.dataoffsets[index], self._page.databytecounts[index]
        if not count:
            return  # a sparse file: a segment never written is zeros
        data = self._read_at(offset, count)
        try:
            segment, where, shape = self._page.decode(data, index)
        except Exception as exc:  # a codec's own error on damaged data (zlib.error, ...)
            raise _decode_error(self.name, self._page, index, exc) from None
        if segment is None:
            return
        y, x = where[2], where[3]
        h, w = shape[1], shape[2]
        rows = slice(max(y, start), min(y + h, start + out.shape[0]))
        cols = min(w, self.layout.width - x)
        out[rows.start - start : rows.stop - start, x : x + cols] = segment[
            0, rows.start - y : rows.stop - y, :cols
        ].reshape(rows.stop - rows.start, cols, -1)

    def _check_segments(self) -> None:
        """Every strip or tile is there and inside the file, as many bytes as the header says."""
        page = self._page
        expected = int(np.prod(page.chunked))
        if len(page.dataoffsets) != expected:
            msg = (
                f"{self.name}: the TIFF header describes {expected} strips or tiles but lists "
                f"{len(page.dataoffsets)}; the file is damaged"
            )
            raise ImageError(msg)
        size = self._file.filehandle.size
        ends = np.asarray(page.dataoffsets, np.int64) + np.asarray(page.databytecounts, np.int64)
        if ends.size and int(ends.max()) > size:
            index = int(np.argmax(ends > size))
            msg = f"{self.name}: truncated TIFF: strip {index} lies past the end of the file"
            raise ImageError(msg)
        if page.compression == _UNCOMPRESSED:
            self._check_raw_sizes()

    def _check_raw_sizes(self) -> None:
        """Uncompressed strips must hold every byte of their rows (tiles: the whole tile)."""
        page, lay = self._page, self.layout
        counts = np.asarray(page.databytecounts, np.int64)
        per_row = int(np.prod(page.chunks[1:])) * lay.dtype.itemsize
        rows = np.full(counts.size, int(page.chunks[0]), np.int64)
        if not page.is_tiled:
            rows = np.minimum(rows, lay.height - np.arange(counts.size) * rows)
        short = (counts > 0) & (counts < rows * per_row)
        if np.any(short):
            msg = (
                f"{self.name}: the TIFF header says {lay.height}x{lay.width} pixels but "
                f"strip {int(np.argmax(short))} holds fewer bytes; the file is damaged"
            )
            raise ImageError(msg)


def _layout(page: Any) -> TiffLayout:
    """The layout of a page this module reads; TiffUnsupported otherwise."""
    color = _PHOTOMETRIC.get(int(page.photometric))
    shaped = page.shaped
    samples = int(page.samplesperpixel)
    colour_samples = 1 if color == "gray" else 3
    extra = samples - colour_samples
    if (
        color is None
        or page.dtype not in _DTYPES
        or shaped[0] != 1
        or shaped[1] != 1
        or (samples > 1 and int(page.planarconfig) != 1)
        or extra not in (0, 1)
        or int(page.tags.valueof(274, 1) or 1) != 1  # EXIF orientation: Pillow applies it
    ):
        raise TiffUnsupported(page.photometric)
    straight = extra == 1 and tuple(page.extrasamples) == (2,)  # EXTRASAMPLE.UNASSALPHA
    return TiffLayout(
        int(page.imagelength),
        int(page.imagewidth),
        samples,
        color,
        extra == 1,
        page.dtype,
        straight,
    )


def _resolution(tag: Any) -> float | None:
    """A resolution tag's value as Pillow reads it; None if unusual."""
    value = tag.value
    if not (
        isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value)
    ):
        return None
    numerator, denominator = value
    return numerator / denominator if denominator else None


def _decode_error(name: str, page: Any, index: int, exc: BaseException) -> ImageError:
    from tifffile import COMPRESSION

    compression = COMPRESSION(page.compression).name
    if "imagecodecs" in str(exc):
        msg = (
            f"{name}: {compression}-compressed TIFF needs the imagecodecs package; "
            "install it with: pip install 'convcli[tiff]'"
        )
    else:
        msg = f"{name}: cannot decode TIFF strip {index} ({compression}): {reason(exc)}"
    return ImageError(msg)


def _is_bigtiff(source: Source) -> bool:
    """Whether ``source`` starts with a BigTIFF signature (its libtiff would also print its
    complaint about a damaged one on stderr)."""
    return _head(source) in (b"II+\x00", b"MM\x00+")


def _head(source: Source) -> bytes:
    """The first four bytes of ``source`` (empty if unreadable)."""
    if isinstance(source, bytes | bytearray):
        return bytes(source[:4])
    try:
        with open(source, "rb") as handle:
            return handle.read(4)
    except OSError:
        return b""


def is_tiff(source: Source) -> bool:
    """Whether ``source`` starts with a TIFF (or BigTIFF) signature; False if unreadable
    (the Pillow reader names the problem)."""
    return _head(source) in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def probe(source: Source) -> TiffLayout | None:
    """The layout of a TIFF that :class:`TiffRows` reads here, or None to read it with Pillow.

    A TIFF compressed with a codec that needs ``imagecodecs`` goes to Pillow when it is
    8-bit or gray (Pillow reads those exactly); deeper colour would lose bits there.

    Raises
    ------
    ImageError
        A damaged TIFF, or deep colour that needs ``imagecodecs`` when it is missing.
    """
    try:
        with TiffRows(source) as tif:
            compression, layout = tif._page.compression, tif.layout
    except TiffUnsupported:
        return None
    from tifffile import COMPRESSION, TIFF

    try:
        TIFF.DECOMPRESSORS[compression]
    except (KeyError, ImportError):
        if layout.bit_depth == 8 or layout.color == "gray":
            return None
        name = COMPRESSION(compression).name
        msg = (
            f"{_name(source)}: {name}-compressed {layout.bit_depth}-bit colour TIFF needs "
            "the imagecodecs package; install it with: pip install 'convcli[tiff]'"
        )
        raise ImageError(msg) from None
    return layout


def float_colour_tiff(source: Source) -> TiffLayout | None:
    """The layout of a float colour TIFF (which Pillow cannot open), else None.

    Raises
    ------
    ImageError
        A damaged file, or one with several pages (float colour is read one page only).
    """
    if not is_tiff(source):
        return None
    try:
        with TiffRows(source) as tif:
            layout, pages = tif.layout, len(tif._file.pages)
    except TiffUnsupported:
        return None
    if layout.color != "rgb" or layout.bit_depth != 32:
        return None
    if pages > 1:
        msg = f"{_name(source)}: a float colour TIFF of {pages} pages; convcli reads one page"
        raise ImageError(msg)
    return layout


def tiff_tags(source: Source) -> tuple[bytes | None, tuple[float, float] | None]:
    """The ICC profile and the DPI of a TIFF's first image (each None when absent)."""
    with TiffRows(source) as tif:
        tags = tif._page.tags
        icc = tags.valueof("InterColorProfile")
        x, y, unit = (tags.valueof(n) for n in ("XResolution", "YResolution", "ResolutionUnit"))
    per_inch = {2: 1.0, 3: 2.54}  # ResolutionUnit: inch, centimetre
    if x is None or y is None or unit is None or int(unit) not in per_inch:
        return (bytes(icc) if icc else None), None
    dpi = tuple(round(n / d * per_inch[int(unit)], 4) if d else 0.0 for n, d in (x, y))
    return (bytes(icc) if icc else None), (dpi[0], dpi[1])


def read_tiff_rows(source: Source, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of a TIFF's first image: ``(n, W)`` or ``(n, W, S)``, as stored.

    Parameters
    ----------
    source : str, path-like or bytes
        A TIFF file.
    start, stop : int
        The rows, clipped to the image.

    Raises
    ------
    ImageError
        A damaged file, or one whose layout this reader does not handle.
    """
    try:
        with TiffRows(source) as tif:
            return tif.read(start, stop)
    except TiffUnsupported:
        msg = f"{_name(source)}: a TIFF layout that cannot be read in strips"
        raise ImageError(msg) from None
