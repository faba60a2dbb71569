"""Uploaded files: one item per `POST /v1/uploads`, from the presigned upload until a message or a delivery
claims it (once, by its uploader). An unclaimed upload's item expires by TTL a day later, as the bucket's
lifecycle rule removes its object."""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.store.models.base import BaseMeta


class UploadModel(Model):
    class Meta(BaseMeta):
        logical_name = "uploads"
        table_name = "uploads"
        ttl_attribute = "expires_at"

    id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    filename = UnicodeAttribute()
    size = NumberAttribute()  # declared bytes: the presigned POST refuses more
    content_type = UnicodeAttribute()
    key = UnicodeAttribute()
    created_at = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | claimed
    claimed_by = UnicodeAttribute(null=True)  # the order (`ord_…`) or conversation (`cnv_…`) it is attached to
    claimed_at = UnicodeAttribute(null=True)
    width = NumberAttribute(null=True)  # an image's pixels, once its thumbnail is made
    height = NumberAttribute(null=True)
    thumbnail_key = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # unix seconds; removed when claimed
