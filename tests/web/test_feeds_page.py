"""The admin's review page of the hospital feeds: unmapped local codes are listed, never
guessed, beside the messages that were refused."""

from __future__ import annotations

from neurocart.interop.hl7.receiver import Receiver
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
