"""The schema itself: it accepts documents shaped like the specification's examples and refuses
the mistakes a server could make (so that validating an answer means something)."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.open311.conftest import validate_xml

DECL = '<?xml version="1.0" encoding="UTF-8"?>'

DISCOVERY = """<discovery>
  <changeset>2011-04-05T17:48:34Z</changeset>
  <contact>Call 311 for anything urgent.</contact>
  <key_service>Ask the city for a key.</key_service>
  <endpoints>
    <endpoint>
      <specification>http://wiki.open311.org/GeoReport_v2</specification>
      <url>https://city.example/open311/v2</url>
      <changeset>2011-04-20T17:48:34Z</changeset>
      <type>production</type>
      <formats><format>text/xml</format><format>application/json</format></formats>
    </endpoint>
  </endpoints>
</discovery>"""

SERVICES = """<services>
  <service>
    <service_code>001</service_code>
    <service_name>Cans left out 24x7</service_name>
    <description>Garbage or recycling cans that have been left out.</description>
    <metadata>true</metadata>
    <type>realtime</type>
    <keywords>lorem, ipsum, dolor</keywords>
    <group>sanitation</group>
  </service>
  <service>
    <service_code>002</service_code>
    <service_name>Construction plate shifted</service_name>
    <description></description>
    <metadata>false</metadata>
    <type>batch</type>
    <keywords/>
    <group/>
  </service>
</services>"""

DEFINITION = """<service_definition>
  <service_code>DMV66</service_code>
  <attributes>
    <attribute>
      <variable>true</variable>
      <code>WHISHETN</code>
      <datatype>singlevaluelist</datatype>
      <required>true</required>
      <datatype_description></datatype_description>
      <order>1</order>
      <description>What is the color of the car?</description>
      <values>
        <value><key>123</key><name>Ford</name></value>
        <value><key>124</key><name>Chrysler</name></value>
      </values>
    </attribute>
    <attribute>
      <variable>false</variable>
      <code>NOTE</code>
      <datatype>text</datatype>
      <required>false</required>
      <datatype_description/>
      <order>2</order>
      <description>Please keep clear.</description>
    </attribute>
  </attributes>
</service_definition>"""

RECORD = """<service_requests>
  <request>
    <service_request_id>638344</service_request_id>
    <status>closed</status>
    <status_notes>Duplicate request.</status_notes>
    <service_name>Sidewalk and Curb Issues</service_name>
    <service_code>006</service_code>
    <description></description>
    <agency_responsible></agency_responsible>
    <service_notice></service_notice>
    <requested_datetime>2010-04-14T06:37:38-08:00</requested_datetime>
    <updated_datetime>2010-04-14T06:37:38-08:00</updated_datetime>
    <expected_datetime>2010-04-15T06:37:38-08:00</expected_datetime>
    <address>8TH AVE and JUDAH ST</address>
    <address_id>545483</address_id>
    <zipcode>94122</zipcode>
    <lat>37.762221815</lat>
    <long>-122.4651145</long>
    <media_url>http://city.gov.s3.amazonaws.com/requests/media/638344.jpg</media_url>
  </request>
</service_requests>"""

CREATED = """<service_requests><request>
  <service_request_id>293944</service_request_id>
  <service_notice>The City will inspect and correct it.</service_notice>
  <account_id/>
</request></service_requests>"""

DEFERRED = """<service_requests><request>
  <token>12345</token><service_notice/><account_id/>
</request></service_requests>"""

TOKEN = """<service_requests><request>
  <service_request_id>638344</service_request_id><token>12345</token>
</request></service_requests>"""

TOKEN_PENDING = """<service_requests><request>
  <service_request_id></service_request_id><token>12345</token>
</request></service_requests>"""

UPDATES = """<service_request_updates>
  <request_update>
    <update_id>123456</update_id>
    <service_request_id>638344</service_request_id>
    <status>IN_PROGRESS</status>
    <updated_datetime>2012-09-28T17:34:55+01:00</updated_datetime>
    <description>Crew on site.</description>
    <media_url></media_url>
  </request_update>
</service_request_updates>"""

UPDATE_ANSWER = """<service_request_updates><request_update>
  <update_id>99</update_id>
</request_update></service_request_updates>"""

ERRORS = """<errors>
  <error><code>403</code><description>Invalid api_key received.</description></error>
  <error><code>400</code><description>service_code was not provided.</description></error>
</errors>"""

EMPTY_LIST = "<service_requests/>"


def check(text: str, kind: str | None = None) -> None:
    validate_xml(etree.fromstring((DECL + text).encode()), kind)


VALID = [
    ("discovery", DISCOVERY, None),
    ("services", SERVICES, None),
    ("definition", DEFINITION, None),
    ("record", RECORD, "record"),
    ("created", CREATED, "created"),
    ("deferred", DEFERRED, "deferred"),
    ("token", TOKEN, "token"),
    ("token pending", TOKEN_PENDING, "token"),
    ("updates", UPDATES, "update"),
    ("update answer", UPDATE_ANSWER, "update_answer"),
    ("errors", ERRORS, None),
    ("empty list", EMPTY_LIST, "record"),
    ("record, loosely", RECORD, None),
    ("created, loosely", CREATED, None),
]


@pytest.mark.parametrize(("text", "kind"), [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_the_specification_examples_validate(text: str, kind: str | None) -> None:
    check(text, kind)


INVALID = [
    # dates without a zone, or not dates
    (
        "date without zone",
        RECORD.replace("06:37:38-08:00</requested", "06:37:38</requested"),
        "record",
    ),
    (
        "date only",
        RECORD.replace("2010-04-14T06:37:38-08:00</requested", "2010-04-14</requested"),
        "record",
    ),
    (
        "empty requested",
        RECORD.replace("2010-04-14T06:37:38-08:00</requested", "</requested"),
        "record",
    ),
    ("status not open/closed", RECORD.replace("closed</status>", "dispatched</status>"), "record"),
    ("lat out of range", RECORD.replace("37.762221815", "137.7"), "record"),
    ("lat in exponent form", RECORD.replace("37.762221815", "1e-05"), "record"),
    ("a field missing", RECORD.replace("<zipcode>94122</zipcode>", ""), "record"),
    ("an unknown field", RECORD.replace("<zipcode>", "<email>a@b.c</email><zipcode>"), "record"),
    ("empty id", RECORD.replace("638344</service_request_id>", "</service_request_id>"), "record"),
    (
        "created without id",
        CREATED.replace("<service_request_id>293944</service_request_id>", ""),
        "created",
    ),
    (
        "created with a status",
        CREATED.replace("<account_id/>", "<account_id/><status>open</status>"),
        "created",
    ),
    ("deferred without token", DEFERRED.replace("<token>12345</token>", ""), "deferred"),
    ("token answer without token", TOKEN.replace("<token>12345</token>", ""), "token"),
    ("metadata yes", SERVICES.replace("<metadata>true", "<metadata>yes"), None),
    ("metadata 1", SERVICES.replace("<metadata>true", "<metadata>1"), None),
    ("type unknown", SERVICES.replace("<type>realtime", "<type>now"), None),
    (
        "service without name",
        SERVICES.replace("<service_name>Cans left out 24x7</service_name>", ""),
        None,
    ),
    ("datatype unknown", DEFINITION.replace("<datatype>text", "<datatype>boolean"), None),
    ("order zero", DEFINITION.replace("<order>1</order>", "<order>0</order>"), None),
    ("value without name", DEFINITION.replace("<name>Ford</name>", ""), None),
    ("error code not a number", ERRORS.replace("<code>403</code>", "<code>forbidden</code>"), None),
    (
        "error without description",
        ERRORS.replace("<description>Invalid api_key received.</description>", ""),
        None,
    ),
    ("no errors", "<errors/>", None),
    ("update status lower case", UPDATES.replace("IN_PROGRESS", "in progress"), "update"),
    (
        "update without date",
        UPDATES.replace("<updated_datetime>2012-09-28T17:34:55+01:00</updated_datetime>", ""),
        "update",
    ),
    ("discovery without endpoints", DISCOVERY.split("<endpoints>")[0] + "</discovery>", None),
    ("unknown root", "<html><body>Not found</body></html>", None),
]


@pytest.mark.parametrize(("text", "kind"), [v[1:] for v in INVALID], ids=[v[0] for v in INVALID])
def test_the_schema_refuses_what_the_specification_does_not_allow(
    text: str, kind: str | None
) -> None:
    with pytest.raises(AssertionError, match="does not validate"):
        check(text, kind)
