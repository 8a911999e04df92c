from audits.rules.chain import ChainLink, canonical_bytes, digest, verify_chain


def chain(*documents: dict) -> list[ChainLink]:
    links, previous = [], ""
    for number, document in enumerate(documents, start=1):
        content = canonical_bytes({**document, "previous_sha256": previous})
        links.append(ChainLink(number, digest(content), previous, content))
        previous = digest(content)
    return links


class TestReportChain:
    def test_canonical_bytes_do_not_depend_on_key_order(self):
        assert canonical_bytes({"b": "1", "a": "ž"}) == canonical_bytes({"a": "ž", "b": "1"})
        assert canonical_bytes({"a": "ž"}) == '{"a":"ž"}'.encode()

    def test_an_intact_chain_verifies(self):
        assert verify_chain(chain({"v": "1"}, {"v": "2"}, {"v": "3"})) == []

    def test_a_changed_document_is_caught(self):
        links = chain({"v": "1"}, {"v": "2"})
        forged = ChainLink(
            2, links[1].sha256, links[1].previous_sha256, links[1].content.replace(b'"2"', b'"9"')
        )
        problems = verify_chain([links[0], forged])
        assert len(problems) == 1 and "report 2: the stored document's SHA-256" in problems[0]

    def test_a_database_row_rewritten_to_match_a_forged_document_breaks_the_next_link(self):
        links = chain({"v": "1"}, {"v": "2"}, {"v": "3"})
        forged_content = links[1].content.replace(b'"2"', b'"9"')
        forged = ChainLink(2, digest(forged_content), links[1].previous_sha256, forged_content)
        problems = verify_chain([links[0], forged, links[2]])
        assert problems == [
            f"report 3: links to {links[1].sha256}, but the report before it is {forged.sha256}"
        ]

    def test_a_missing_document_and_a_dropped_report_are_caught(self):
        links = chain({"v": "1"}, {"v": "2"}, {"v": "3"})
        missing = ChainLink(1, links[0].sha256, "", None)
        assert verify_chain([missing, *links[1:]]) == ["report 1: the stored document is missing"]
        assert "report 3: links to" in verify_chain([links[0], links[2]])[0]
