"""Organizations set-up shared by the end-to-end tests: member accounts made with
CreateAccount, their root credentials (which the provisioner writes to the data dir) and
clients signed with them."""

import configparser
import os
import time


def wait_created(orgs, request_id):
    """The final status of a CreateAccount request (polled until it leaves IN_PROGRESS)."""
    for _ in range(100):
        status = orgs.describe_create_account_status(CreateAccountRequestId=request_id)[
            "CreateAccountStatus"
        ]
        if status["State"] != "IN_PROGRESS":
            return status
        time.sleep(0.1)
    raise AssertionError("account creation did not finish")


def create_account(orgs, name, email=None):
    """Creates member account `name` (email `name@example.com` unless given); its id."""
    status = orgs.create_account(AccountName=name, Email=email or f"{name}@example.com")[
        "CreateAccountStatus"
    ]
    assert status["State"] == "IN_PROGRESS"
    done = wait_created(orgs, status["Id"])
    assert done["State"] == "SUCCEEDED", done
    return done["AccountId"]


def member_root(server, account):
    """The root user's (access key id, secret) of a created member account."""
    creds = configparser.ConfigParser()
    creds.read(os.path.join(server.data_dir, "accounts", account, "root-credentials"))
    return creds["default"]["aws_access_key_id"], creds["default"]["aws_secret_access_key"]


def member_client(server, service, account, region="us-east-1", config=None):
    """A client of `service` signed with the root user of member `account`."""
    key, secret = member_root(server, account)
    return server.client(service, key=key, secret=secret, region=region, config=config)
