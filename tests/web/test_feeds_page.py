"""The admin's review page of the hospital feeds: unmapped local codes are listed, never
guessed, beside the messages that were refused."""

from __future__ import annotations

from neurocart.interop.hl7.receiver import Receiver
from neurocart.services import reads
from neurocart.store import repo
from neurocart.store.models import Role
from tests.interop import hl7_messages as hm
from tests.web.conftest import World, client_as
from tests.web.seed import USERNAMES


def test_an_unmapped_code_is_listed_for_the_admin_and_hidden_from_others(world: World) -> None:
    study_id = world.seeded.acute[0]
    with world.database.reading() as session:
        feed = repo.get_user_by_username(session, USERNAMES[Role.DATA_MANAGER])
    assert feed is not None
    receiver = Receiver(world.database, feed, crosswalk={("HOSP_A", "H12345"): study_id})
    ack = receiver.handle(hm.oru("WEB1", code="K0042^Odd local test^L"))
    assert "unmapped code K0042" in hm.errs(ack)[0][-1]
    refused = receiver.handle(hm.oru("WEB2", value="not-a-number"))
    assert hm.msa(refused)[1] == "AE"

    page = client_as(world, Role.ADMIN).get("/admin/feeds")
    assert page.status_code == 200
    assert "<code>K0042</code>" in page.text
    assert "WEB2" in page.text
    assert 'href="/admin/feeds"' in page.text  # the admin's navigation links to it
    nurse = client_as(world, Role.NURSE)
    assert nurse.get("/admin/feeds").status_code == 403
    assert 'href="/admin/feeds"' not in nurse.get("/board").text


def _feed_reads(world: World) -> list[reads.ReadView]:
    with world.database.reading() as session:
        return reads.list_reads(session, what="feeds")


def test_viewing_the_feeds_page_is_a_logged_read(world: World) -> None:
    before = len(_feed_reads(world))
    admin = client_as(world, Role.ADMIN)
    page = admin.get("/admin/feeds")
    assert page.status_code == 200
    logged = _feed_reads(world)
    assert len(logged) == before + 1
    assert logged[0].actor == USERNAMES[Role.ADMIN]
    assert logged[0].scope["messages"] == page.text.count("<tr><td>") - logged[0].scope["unmapped"]
    assert client_as(world, Role.NURSE).get("/admin/feeds").status_code == 403
    assert len(_feed_reads(world)) == before + 1  # a refused view is none
