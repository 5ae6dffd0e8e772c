"""What a stack in a VPC adds: the endpoints its functions call, and the optional RDS Proxy.

Functions in private subnets reach AWS APIs only through VPC endpoints (or a NAT gateway): the
database secret (Secrets Manager), the executions the API starts and reads (Step Functions), and
the bucket plus CloudFormation's response URL of the migration function (S3, a gateway endpoint on
the subnets' route tables), and with ``face_index: rekognition`` Amazon Rekognition. With a
stage's ``vpc.endpoints`` (the default) the stack creates them, with a security group that admits
HTTPS from the functions' security groups.

A stage's ``rds_proxy`` puts an RDS Proxy in front of the database: it logs in with the database
secret, requires TLS, and pools connections for every function, so the functions connect to its
endpoint (``database_host``), with the secret's password or, with ``iam_auth``, an IAM token.
"""

from __future__ import annotations

from typing import Any

from bakusoku.config import ConfigError, env_name
from bakusoku.deploy.policies import DATABASE_SECRET
from bakusoku.deploy.stages import StageConfig
from bakusoku.faces.rekognition import REKOGNITION

VPC_ID = "VpcId"
ROUTE_TABLES = "RouteTableIds"
SUBNETS = "SubnetIds"
SECURITY_GROUPS = "SecurityGroupIds"
ENDPOINT_SECURITY_GROUP = "VpcEndpointSecurityGroup"
INTERFACE_ENDPOINTS = {
    "SecretsManagerEndpoint": "secretsmanager",
    "StepFunctionsEndpoint": "states",
}
REKOGNITION_ENDPOINT = "RekognitionEndpoint"  # with face_index: rekognition
S3_ENDPOINT = "S3GatewayEndpoint"
PROXY = "DatabaseProxy"
PROXY_ROLE = "DatabaseProxyRole"
PROXY_TARGETS = "DatabaseProxyTargetGroup"
_ENGINE_FAMILIES = {
    "mysql": "MYSQL",
    "mariadb": "MYSQL",
    "aurora-mysql": "MYSQL",
    "postgres": "POSTGRESQL",
    "aurora-postgresql": "POSTGRESQL",
}


def creates_endpoints(stage: StageConfig) -> bool:
    return stage.vpc is not None and stage.vpc.endpoints


def vpc_parameters(stage: StageConfig) -> dict[str, Any]:
    """Template parameters of the VPC (none without one)."""
    if stage.vpc is None:
        return {}
    params: dict[str, Any] = {
        SUBNETS: {
            "Type": "List<AWS::EC2::Subnet::Id>",
            "Default": ",".join(stage.vpc.subnet_ids),
            "Description": "Subnets of the functions that reach the database.",
        },
        SECURITY_GROUPS: {
            "Type": "List<AWS::EC2::SecurityGroup::Id>",
            "Default": ",".join(stage.vpc.security_group_ids),
            "Description": "Security groups of the functions that reach the database.",
        },
    }
    if creates_endpoints(stage):
        params[VPC_ID] = {
            "Type": "AWS::EC2::VPC::Id",
            "Default": stage.vpc.vpc_id,
            "Description": "The VPC of the subnets, where the stack creates its endpoints.",
        }
        params[ROUTE_TABLES] = {
            "Type": "CommaDelimitedList",
            "Default": ",".join(stage.vpc.route_table_ids),
            "Description": "Route tables of the subnets, for the S3 gateway endpoint.",
        }
    return params


def endpoint_resources(stage: StageConfig) -> dict[str, Any]:
    """The VPC endpoints and their security group (none unless the stage creates them)."""
    if stage.vpc is None or not creates_endpoints(stage):
        return {}
    resources: dict[str, Any] = {
        ENDPOINT_SECURITY_GROUP: {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": f"HTTPS to the AWS API endpoints of {stage.stack_name}",
                "VpcId": {"Ref": VPC_ID},
            },
        }
    }
    for index in range(len(stage.vpc.security_group_ids)):
        resources[f"{ENDPOINT_SECURITY_GROUP}Ingress{index}"] = {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {
                "GroupId": {"Fn::GetAtt": [ENDPOINT_SECURITY_GROUP, "GroupId"]},
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "SourceSecurityGroupId": {"Fn::Select": [index, {"Ref": SECURITY_GROUPS}]},
            },
        }
    interfaces = dict(INTERFACE_ENDPOINTS)
    if stage.settings.face_index == REKOGNITION:  # the face step and the API's face search
        interfaces[REKOGNITION_ENDPOINT] = "rekognition"
    for logical, service in interfaces.items():
        resources[logical] = {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {
                "VpcEndpointType": "Interface",
                "ServiceName": {"Fn::Sub": f"com.amazonaws.${{AWS::Region}}.{service}"},
                "VpcId": {"Ref": VPC_ID},
                "SubnetIds": {"Ref": SUBNETS},
                "SecurityGroupIds": [{"Ref": ENDPOINT_SECURITY_GROUP}],
                "PrivateDnsEnabled": True,
            },
        }
    resources[S3_ENDPOINT] = {
        "Type": "AWS::EC2::VPCEndpoint",
        "Properties": {
            "VpcEndpointType": "Gateway",
            "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"},
            "VpcId": {"Ref": VPC_ID},
            "RouteTableIds": {"Ref": ROUTE_TABLES},
        },
    }
    return resources


def engine_family(stage: StageConfig) -> str:
    """The proxy's engine family, from the setting database_engine."""
    family = _ENGINE_FAMILIES.get(stage.settings.database_engine)
    if family is None:
        raise ConfigError(
            f"an rds_proxy needs the setting database_engine (one of {sorted(_ENGINE_FAMILIES)}), "
            f"not {stage.settings.database_engine!r}"
        )
    return family


def proxy_resources(stage: StageConfig) -> dict[str, Any]:
    """The RDS Proxy, its role (reads the database secret) and its target (none without one)."""
    proxy = stage.rds_proxy
    if proxy is None:
        return {}
    target: dict[str, Any] = (
        {"DBInstanceIdentifiers": [proxy.db_instance_identifier]}
        if proxy.db_instance_identifier
        else {"DBClusterIdentifiers": [proxy.db_cluster_identifier]}
    )
    return {
        PROXY_ROLE: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "rds.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "read-database-secret",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "secretsmanager:GetSecretValue",
                                    "Resource": {"Ref": DATABASE_SECRET},
                                }
                            ],
                        },
                    }
                ],
            },
        },
        PROXY: {
            "Type": "AWS::RDS::DBProxy",
            "Properties": {
                "DBProxyName": stage.resource_name("db-proxy"),
                "EngineFamily": engine_family(stage),
                "RoleArn": {"Fn::GetAtt": [PROXY_ROLE, "Arn"]},
                "Auth": [
                    {
                        "AuthScheme": "SECRETS",
                        "SecretArn": {"Ref": DATABASE_SECRET},
                        "IAMAuth": "REQUIRED" if proxy.iam_auth else "DISABLED",
                    }
                ],
                "RequireTLS": True,
                "VpcSubnetIds": {"Ref": SUBNETS},
                "VpcSecurityGroupIds": {"Ref": SECURITY_GROUPS},
            },
        },
        PROXY_TARGETS: {
            "Type": "AWS::RDS::DBProxyTargetGroup",
            "Properties": {
                "DBProxyName": {"Ref": PROXY},
                "TargetGroupName": "default",
                **target,
            },
        },
    }


def proxy_environment(stage: StageConfig) -> dict[str, Any]:
    """What the functions that use the database read to connect through the proxy."""
    if stage.rds_proxy is None:
        return {}
    env: dict[str, Any] = {env_name("database_host"): {"Fn::GetAtt": [PROXY, "Endpoint"]}}
    if stage.rds_proxy.iam_auth:
        env[env_name("database_iam_auth")] = "1"
    return env


def proxy_connect_statement(stage: StageConfig) -> dict[str, Any] | None:
    """``rds-db:connect`` through the proxy, for IAM authentication (None: secret auth)."""
    if stage.rds_proxy is None or not stage.rds_proxy.iam_auth:
        return None
    proxy_id = {"Fn::Select": [6, {"Fn::Split": [":", {"Fn::GetAtt": [PROXY, "DBProxyArn"]}]}]}
    return {
        "Effect": "Allow",
        "Action": ["rds-db:connect"],
        "Resource": {
            "Fn::Sub": [
                "arn:${AWS::Partition}:rds-db:${AWS::Region}:${AWS::AccountId}:dbuser:${ProxyId}/*",
                {"ProxyId": proxy_id},
            ]
        },
    }
