"""Instrument photos (issue #16): judged by their content, re-encoded with
nothing of the upload kept, six at most, served as images the platform
made, shown on the instrument page, in search results and in the API."""
from __future__ import annotations

import io
import os
import re

import sqlalchemy as sa
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from instrument_share.catalogue.models import InstrumentEvent, InstrumentPhoto
from instrument_share.extensions import db

from ..conftest import Browser, csrf_token_from


def _jpeg(width=2400, height=1600, gps=True) -> bytes:
    """A camera's JPEG: large, with EXIF that says where it was taken."""
    image = Image.new("RGB", (width, height), (40, 90, 160))
    exif = Image.Exif()
    exif[0x010F] = "Secret Camera Co."  # Make
    if gps:
        exif[0x8825] = {1: "N", 2: (31.0, 2.0, 3.0), 3: "E", 4: (121.0, 13.0, 24.0)}  # GPS position
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=90)
    return buffer.getvalue()


def _post_photo(client, instrument_id: int, data: bytes, name="photo.jpg", token=None):
    """The form as a browser posts it. Encoded here, in memory: the test
    client would spool a body over 500 KB to a temporary file it never closes."""
    token = token or csrf_token_from(client.get(f"/manage/instruments/{instrument_id}").get_data(as_text=True))
    boundary, body = encode_multipart({"csrf_token": token, "file": FileStorage(io.BytesIO(data), name)})
    return client.post(f"/manage/instruments/{instrument_id}/photos", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def _desk(make):
    institution = make.institution()
    make.user(role="manager", institution_id=institution.id, email="mgr@photos.example")
    return make.instrument(institution_id=institution.id, name="场发射扫描电子显微镜")


def test_a_photo_is_re_encoded_without_its_metadata_and_shown_everywhere(api, browser, client, make, app_context):
    sem = _desk(make)
    browser.login("mgr@photos.example")
    upload = _jpeg()
    assert b"Secret Camera" in upload
    assert _post_photo(client, sem.id, upload).status_code == 302
    photo = db.session.scalar(sa.select(InstrumentPhoto))
    served = client.get(f"/photos/{photo.id}.webp")
    assert served.status_code == 200 and served.mimetype == "image/webp"
    assert "public" in served.headers["Cache-Control"]
    image = Image.open(io.BytesIO(served.data))
    assert (image.format, image.size) == ("WEBP", (1600, 1067)) and not image.getexif()
    assert b"Secret Camera" not in served.data and b"Exif" not in served.data
    thumbnail = Image.open(io.BytesIO(client.get(f"/photos/{photo.id}/thumbnail.webp").data))
    assert max(thumbnail.size) == 400
    page = client.get(f"/instruments/{sem.id}").get_data(as_text=True)
    assert f'src="/photos/{photo.id}/thumbnail.webp"' in page
    assert f'src="/photos/{photo.id}/thumbnail.webp"' in client.get("/search?q=扫描电镜").get_data(as_text=True)
    record = api.get(f"/api/v1/instruments/{sem.id}").get_json()
    assert [p["url"].rsplit("/", 1)[-1] for p in record["photos"]] == [f"{photo.id}.webp"]
    assert record["photos"][0]["thumbnail_url"].endswith(f"/photos/{photo.id}/thumbnail.webp")
    assert db.session.scalar(sa.select(InstrumentEvent.action)) == "photo_added"


def test_forged_huge_and_seventh_photos_are_refused_and_change_nothing(browser, client, make, app_context):
    sem = _desk(make)
    browser.login("mgr@photos.example")
    page = client.get(f"/manage/instruments/{sem.id}").get_data(as_text=True)
    token = csrf_token_from(page)
    forged = _post_photo(client, sem.id, b"<html><script>alert(1)</script></html>", "photo.jpg", token)
    assert forged.status_code == 422 and "JPEG" in forged.get_data(as_text=True)
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    assert _post_photo(client, sem.id, gif.getvalue(), "photo.png", token).status_code == 422
    bomb = io.BytesIO()
    Image.new("L", (8000, 6000)).save(bomb, "PNG")  # 48 megapixels in a few kilobytes
    refused_bomb = _post_photo(client, sem.id, bomb.getvalue(), "photo.png", token)
    assert refused_bomb.status_code == 422 and "4000" in refused_bomb.get_data(as_text=True)
    truncated = _jpeg()[:5000]
    assert _post_photo(client, sem.id, truncated, "photo.jpg", token).status_code == 422
    over = _jpeg(100, 100, gps=False) + os.urandom(5 * 1024 * 1024)  # just over 5 MB, whatever is inside
    refused = _post_photo(client, sem.id, over, "photo.jpg", token)
    assert refused.status_code == 422 and "5 MB" in refused.get_data(as_text=True)
    huge = _post_photo(client, sem.id, os.urandom(6 * 1024 * 1024), "photo.jpg", token)
    assert huge.status_code == 413  # refused before it is read
    assert db.session.scalar(sa.select(sa.func.count(InstrumentPhoto.id))) == 0

    small = _jpeg(640, 480, gps=False)
    for _ in range(6):
        assert _post_photo(client, sem.id, small, token=token).status_code == 302
    seventh = _post_photo(client, sem.id, small, token=token)
    assert seventh.status_code == 422
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(InstrumentPhoto.id))) == 6
    removed = client.post(f"/manage/photos/{db.session.scalar(sa.select(sa.func.min(InstrumentPhoto.id)))}/delete",
                          data={"csrf_token": token})
    assert removed.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(InstrumentPhoto.id))) == 5


def test_only_the_instruments_managers_add_or_remove_photos(app, browser, client, make, app_context):
    sem = _desk(make)
    browser.login("mgr@photos.example")
    assert _post_photo(client, sem.id, _jpeg(320, 240, gps=False)).status_code == 302
    photo_id = db.session.scalar(sa.select(InstrumentPhoto.id))
    for email, role in (("other@photos.example", "manager"), ("firm@photos.example", "firm")):
        make.user(email=email, role=role)
        visitor = app.test_client()
        Browser(visitor).login(email)
        token = csrf_token_from(visitor.get("/").get_data(as_text=True))
        added = visitor.post(f"/manage/instruments/{sem.id}/photos", data={
            "csrf_token": token, "file": (io.BytesIO(_jpeg(320, 240)), "p.jpg")}, content_type="multipart/form-data")
        assert added.status_code == 403
        assert visitor.post(f"/manage/photos/{photo_id}/delete", data={"csrf_token": token}).status_code == 403
        assert visitor.get(f"/photos/{photo_id}.webp").status_code == 200  # anyone sees them
    assert db.session.scalar(sa.select(sa.func.count(InstrumentPhoto.id))) == 1
    assert app.test_client().get("/photos/999999.webp").status_code == 404
    assert re.search(r"max-age=\d+", app.test_client().get(f"/photos/{photo_id}.webp").headers["Cache-Control"])
