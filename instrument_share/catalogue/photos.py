"""Instrument photos: up to six per instrument, from JPEG, PNG or WebP
uploads of at most 5 MB. An upload is judged by its content, never by its
name or the content type the browser claims: Pillow must read it as one of
the three formats. It is then turned upright (its EXIF orientation),
re-encoded as WebP at a display size and as a thumbnail, and nothing else
of it is kept: no EXIF (GPS positions, camera serial numbers), no ICC
profile, no trailing bytes. So what the platform serves is always an image
it made, never a user's file."""
from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps

from ..accounts.models import User
from ..errors import N_, NotFound, ValidationFailed
from ..extensions import db
from . import audit
from .manage import managed_instrument
from .models import InstrumentPhoto

MAX_PHOTOS = 6
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel camera; anything larger is refused before it is decoded
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
DISPLAY_SIZE = 1600  # longest side, pixels
THUMBNAIL_SIZE = 400
WEBP_QUALITY = 82


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed(N_("The photo was not added."), {"file": [message]})


def _decoded(data: bytes) -> Image.Image:
    """The upload as an image, or a refusal that says why."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise _refused(N_("At most 5 MB."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in ACCEPTED_FORMATS:
                raise _refused(N_("A JPEG, PNG or WebP image."))
            if probe.width * probe.height > MAX_PIXELS:
                raise _refused(N_("At most 40 megapixels."))
            probe.verify()  # a truncated or corrupt file fails here
            image = Image.open(io.BytesIO(data))
            image.load()
            # Malformed EXIF fails here as anything from struct.error up: a refusal, not a 500.
            image = ImageOps.exif_transpose(image)
            has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
            return image.convert("RGBA" if has_alpha else "RGB")
    except ValidationFailed:
        raise
    except Exception:  # noqa: BLE001 (Pillow's decoders raise many kinds; any of them means "not an image we take")
        raise _refused(N_("A JPEG, PNG or WebP image.")) from None


def _webp(image: Image.Image, longest: int) -> bytes:
    copy = image.copy()
    copy.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    copy.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)  # no exif, no icc_profile: nothing carried over
    return buffer.getvalue()


def add_photo(user: User, instrument_id: int, data: bytes) -> InstrumentPhoto:
    """The instrument's managers add a photo (the seventh is refused). The
    image work happens before the instrument's lock is taken."""
    image = _decoded(data)
    display, thumbnail = _webp(image, DISPLAY_SIZE), _webp(image, THUMBNAIL_SIZE)
    instrument = managed_instrument(user, instrument_id)
    if len(instrument.photos) >= MAX_PHOTOS:
        raise _refused(N_("At most 6 photos an instrument: remove one first."))
    width, height = Image.open(io.BytesIO(display)).size
    photo = InstrumentPhoto(instrument_id=instrument.id, width=width, height=height, display=display,
                            thumbnail=thumbnail, created_by_id=user.id)
    db.session.add(photo)
    db.session.flush()
    audit.record(instrument, user, "photo_added", {"photo": [None, photo.id]})
    return photo


def remove_photo(user: User, photo_id: int) -> int:
    """The instrument's managers remove a photo; returns its instrument's id."""
    photo = db.session.get(InstrumentPhoto, photo_id) if isinstance(photo_id, int) else None
    if photo is None:
        raise NotFound(N_("No such photo."))
    instrument = managed_instrument(user, photo.instrument_id)
    db.session.delete(photo)
    db.session.flush()
    audit.record(instrument, user, "photo_removed", {"photo": [photo_id, None]})
    return instrument.id


def photo_image(photo_id: int, thumbnail: bool) -> bytes:
    """The stored WebP of a photo (anyone may see an instrument's photos)."""
    column = InstrumentPhoto.thumbnail if thumbnail else InstrumentPhoto.display
    data = db.session.scalar(db.select(column).where(InstrumentPhoto.id == photo_id))
    if data is None:
        raise NotFound(N_("No such photo."))
    return data
