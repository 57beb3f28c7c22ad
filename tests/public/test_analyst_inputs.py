"""What a demanding analyst pastes in: addresses copied from a page or a sheet, headers
spelt another way. Over HTTP against the emulator, counting what it saw."""

from __future__ import annotations

import pandas as pd
import pytest

from ccpandas import PlanError

FAST = {"rate": None, "speed": 1_000_000.0}


def test_invisible_characters_copied_with_an_address_do_not_mismatch_it(fast_account):
    # A zero-width space, a byte-order mark or a direction mark copied with an address
    # made a key no contact has: the member was reported not_a_member, the run "ok",
    # and the contact stayed on the list. A no-break space inside one made it too.
    emu, client, target = fast_account(seed=5, contacts=300)
    acct = emu.account
    ids = sorted(acct.members(target))[:5]
    email = [acct.contacts[c].email for c in ids]
    pasted = [
        email[0].replace("@", "\u200b@"),  # zero-width space
        "\ufeff" + email[1],  # byte-order mark (the first cell of a UTF-8 export)
        email[2] + "\u200e",  # left-to-right mark
        email[3].replace("@", "\u2060@").upper(),  # word joiner
        email[4].replace("@", "\u00a0@"),  # a no-break space inside: no address
    ]
    result = pd.DataFrame({"email": pasted}).cc.remove_from_lists(
        [target], "email", client=client, progress=False
    )
    statuses = result.rows["status"].astype(str).tolist()
    assert statuses == ["removed"] * 4 + ["invalid_email"]
    assert acct.members(target) & set(ids) == {ids[4]}


def test_invisible_characters_copied_with_a_contact_id_do_not_refuse_it(fast_account):
    # A zero-width space or a byte-order mark copied with an id made it "not a UUID
    # (expected 8-4-4-4-12 hexadecimal digits)", though it reads as one: it is that id.
    emu, client, target = fast_account(seed=6, contacts=300)
    acct = emu.account
    ids = sorted(acct.members(target))[:3]
    pasted = ["\ufeff" + ids[0], ids[1].upper() + "\u200b", ids[2].replace("-", "-\u200d", 1)]
    result = pd.DataFrame({"contact_id": pasted}).cc.remove_from_lists(
        [target], client=client, progress=False
    )
    assert result.rows["status"].astype(str).tolist() == ["removed"] * 3
    assert not acct.members(target) & set(ids)


def test_a_list_name_near_two_that_differ_in_case_suggests_both(cc_emulator_factory, connect):
    # Lists 'VIP' and 'vip': "Vip" was "did you mean 'vip'?", never 'VIP' (the
    # suggestions were keyed by the lower-cased name, so one hid the other), which
    # steered to one list of two. Column labels alike ('Email', 'EMAIL').
    emu = cc_emulator_factory(seed=7, contacts=100, **FAST)
    client, acct = connect(emu), emu.account
    upper, lower = acct.create_list("VIP"), acct.create_list("vip")
    df = pd.DataFrame({"contact_id": sorted(acct.members(acct.list_ids()[0]))[:3]})
    with pytest.raises(PlanError, match="unknown list name") as info:
        df.cc.remove_from_lists(["Vip"], client=client, progress=False)
    assert "'VIP'" in str(info.value) and "'vip'" in str(info.value)
    assert acct.count(method="POST") == 0 and upper != lower
    twice = pd.DataFrame({"Email": ["a@b.co"], "EMAIL": ["a@b.co"]})
    with pytest.raises(PlanError, match="Did you mean 'Email' or 'EMAIL'"):
        twice.cc.plan([acct.list_ids()[0]], "email")


def test_an_address_wrapped_in_punctuation_is_no_address_not_a_non_member(fast_account):
    # Copied with what surrounds it (Outlook's "To:" line, a quoted SQL value, <...>):
    # a key no contact has, so a member was reported not_a_member in an "ok" run. No
    # address holds those characters there: each row is an invalid_email, as "a@b" is.
    emu, client, target = fast_account(seed=8, contacts=300)
    acct = emu.account
    ids = sorted(acct.members(target))[:6]
    email = [acct.contacts[c].email for c in ids]
    pasted = [f"<{email[0]}>", f"{email[1]};", f'"{email[2]}"', f"{email[3]},", email[4]]
    result = pd.DataFrame({"email": pasted}).cc.remove_from_lists(
        [target], "email", client=client, progress=False, by="email"
    )
    assert result.rows["status"].astype(str).tolist() == ["invalid_email"] * 4 + ["removed"]
    assert acct.members(target) & set(ids) == set(ids) - {ids[4]}


def test_the_plan_names_a_few_invalid_addresses_as_it_does_invalid_ids(fast_account):
    # "invalid emails   2" and no word of which, where invalid ids are shown: a
    # fullwidth ＠ or a <...> copied along could not be seen without digging in rows.
    emu, client, target = fast_account(seed=9, contacts=300)
    acct = emu.account
    email = [acct.contacts[c].email for c in sorted(acct.members(target))[:6]]
    bad = [email[0].replace("@", "\uff20"), f"<{email[1]}>"]
    plan = pd.DataFrame({"email": [*bad, *email[2:]]}).cc.plan([target], "email", client=client)
    line = next(x for x in str(plan).splitlines() if "invalid emails" in x)
    assert line.split() == ["invalid", "emails", "2", "(e.g.", f"{bad[0]!r},", f"{bad[1]!r})"]
    # plan.summary() (and `ccpandas plan --json`) and the panel's preview said 0 of them
    summary = plan.summary()
    assert (summary["invalid"], summary["invalid_examples"]) == (2, bad)
    assert summary["row_statuses"]["invalid_email"] == plan.n_invalid == 2


def test_a_level_of_multiindex_columns_is_named_as_such(fast_account):
    # Columns ('contact', 'id') and ('contact', 'email'): column='contact' was refused
    # as "column 'contact' appears 2 times; keep one of them", which it does not.
    emu, client, target = fast_account(seed=10, contacts=50)
    acct = emu.account
    cid = sorted(acct.members(target))[0]
    df = pd.DataFrame({("contact", "id"): [cid], ("contact", "email"): ["a@example.com"]})
    before = acct.request_counts.total()
    with pytest.raises(PlanError, match=r"a level of the columns.*\('contact', 'id'\)"):
        df.cc.remove_from_lists([target], "contact", client=client, progress=False)
    assert acct.request_counts.total() == before
    result = df.cc.remove_from_lists([target], ("contact", "id"), client=client, progress=False)
    assert result.ok and cid not in acct.members(target)


def test_duplicates_in_a_frame_whose_index_repeats_labels_say_so(fast_account):
    # pd.concat of two exports repeats the labels 0, 1, 2...: the plan said "row 0 is a
    # duplicate of row 0", and duplicate_of names a label several rows have.
    emu, client, target = fast_account(seed=11, contacts=50)
    acct = emu.account
    ids = sorted(acct.members(target))[:2]
    both = pd.concat([pd.DataFrame({"contact_id": ids}), pd.DataFrame({"contact_id": ids[:1]})])
    result = both.cc.remove_from_lists([target], client=client, progress=False)
    for text in (str(result.plan), str(result)):
        assert "row 0 is a duplicate of row 0" in text
        assert "the index repeats labels" in text and "reset_index()" in text, text
    unique = both.reset_index(drop=True).cc.plan([target], client=client, snapshot=False)
    assert "repeats" not in str(unique)


def test_a_joiner_inside_an_address_is_kept_as_the_account_keeps_it():
    # A zero-width (non-)joiner belongs in some internationalised domains: taking it
    # out of the input's key only made a member stored with it "not a member".
    from ccpandas.plan.keys import email_keys, folded

    address = "user@\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.ir"
    keys, valid, _ = email_keys(pd.Series([address]))
    assert valid.all() and keys.to_pylist() == folded(pd.Series([address])).to_pylist()
