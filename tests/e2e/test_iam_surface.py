"""IAM's less travelled surface with boto3: service-linked roles, SSH public keys and signing
certificates, with AWS's names, formats and errors."""

import json
import uuid

import pytest
from botocore.exceptions import ClientError


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_service_linked_roles(server):
    iam = server.client("iam")
    role = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", Description="d")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForAutoScaling"
    assert role["Path"] == "/aws-service-role/autoscaling.amazonaws.com/"
    assert role["Arn"].endswith(":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")
    trust = role["AssumeRolePolicyDocument"]
    trust = trust if isinstance(trust, dict) else json.loads(trust)
    assert trust["Statement"][0]["Principal"]["Service"] == ["autoscaling.amazonaws.com"]
    got = iam.get_role(RoleName="AWSServiceRoleForAutoScaling")["Role"]
    assert got["Description"] == "d"

    # The same service again needs a different suffix; a suffix where the service allows one.
    with pytest.raises(ClientError) as e:
        iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    assert code(e) == "InvalidInput"
    suffixed = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix="web")
    assert suffixed["Role"]["RoleName"] == "AWSServiceRoleForAutoScaling_web"
    with pytest.raises(ClientError) as e:
        iam.create_service_linked_role(AWSServiceName="elasticloadbalancing.amazonaws.com", CustomSuffix="x")
    assert code(e) == "InvalidInput"
    with pytest.raises(ClientError) as e:
        iam.create_service_linked_role(AWSServiceName="nosuchservice.amazonaws.com")
    assert code(e) == "InvalidInput"

    # Ordinary edits are refused, as AWS does.
    name = "AWSServiceRoleForAutoScaling"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    edits = [
        lambda: iam.update_role(RoleName=name, Description="x"),
        lambda: iam.delete_role(RoleName=name),
        lambda: iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy),
        lambda: iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"),
        lambda: iam.update_assume_role_policy(RoleName=name, PolicyDocument=policy),
    ]
    for edit in edits:
        with pytest.raises(ClientError) as e:
            edit()
        assert code(e) == "UnmodifiableEntity"
    assert iam.get_role(RoleName=name)["Role"]["Description"] == "d"

    # Deletion goes through a task whose status reads back.
    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    assert task.startswith("task/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling/")
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName=name)
    assert code(e) == "NoSuchEntity"
    with pytest.raises(ClientError) as e:
        iam.get_service_linked_role_deletion_status(DeletionTaskId="nonsense")
    assert code(e) == "InvalidInput"
    with pytest.raises(ClientError) as e:
        iam.get_service_linked_role_deletion_status(
            DeletionTaskId=f"task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/{uuid.uuid4()}"
        )
    assert code(e) == "NoSuchEntity"

    # An ordinary role is not deleted through this path.
    iam.create_role(RoleName="plain-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }))
    with pytest.raises(ClientError) as e:
        iam.delete_service_linked_role(RoleName="plain-role")
    assert code(e) == "InvalidInput"
    iam.delete_role(RoleName="plain-role")
