"""The stack's edge: a CloudFront distribution in front of the transform function.

Why a Function URL with origin access control, and not Lambda@Edge: the transform reads the photo's
row from the stack's database (in its VPC) and needs its settings and secrets, while Lambda@Edge
functions live in us-east-1, take no environment variables, cannot join a VPC and may generate
origin-request answers of at most 1 MB. The Function URL (auth type ``AWS_IAM``) is the
distribution's origin; CloudFront signs every request to it (OAC, origin type ``lambda``), and the
function's resource policy lets only this distribution call it.

What is cached: the path (``/img/{signature}/{options}/{photo_id}``: the options are in it) and
``Accept`` (``f=auto`` picks AVIF, WebP or JPEG from it), nothing else: no query string, no cookie,
no other header reaches the function. Answers carry ``Cache-Control: max-age`` of a year, which the
policy honours. Lambda buffers at most 6 MB of response (base64 for images): a larger picture is
stored beside the photo's renditions (``domain.keys.edge_key``) and answered with a redirect on the
same host, which a second behaviour serves from the bucket through its own OAC (origin type
``s3``), limited by the bucket policy to those keys. Response streaming would avoid the copy, but
Lambda streams only from Node.js runtimes or custom ones, and Mangum buffers.
"""

from __future__ import annotations

from typing import Any

from bakusoku.deploy.policies import BUCKET
from bakusoku.deploy.stages import StageConfig
from bakusoku.domain.keys import edge_pattern

DISTRIBUTION = "TransformDistribution"
FUNCTION_OAC = "TransformOriginAccessControl"
BUCKET_OAC = "TransformBucketOriginAccessControl"
CACHE_POLICY = "TransformCachePolicy"
URL_PERMISSION = "TransformFunctionUrlPermission"
INVOKE_PERMISSION = "TransformFunctionInvokePermission"
FUNCTION_ORIGIN = "transform-function"
BUCKET_ORIGIN = "photo-bucket"
# What the cache key holds besides the path: the one header the options read.
CACHE_KEY_HEADERS = ("Accept",)
YEAR_SECONDS = 365 * 24 * 3600
# Lambda's buffered response is at most 6 MB (6,291,456 bytes) including the base64 of a binary
# body (4/3 of its size) and the headers: 4 MiB of picture is 5.6 MB on the wire.
INLINE_MAX_BYTES = 4 * 1024 * 1024
# CloudFront's managed policy for objects that carry no Cache-Control of their own (S3 keys).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def function_url_config() -> dict[str, Any]:
    """The transform function's URL: IAM-authenticated, so only signed (OAC) requests get in."""
    return {"AuthType": "AWS_IAM", "InvokeMode": "BUFFERED"}


def distribution_arn() -> dict[str, Any]:
    return {
        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/"
        f"${{{DISTRIBUTION}}}"
    }


def distribution_url() -> dict[str, Any]:
    """``https://{the distribution's domain}``: where signed transform URLs point."""
    return {"Fn::Sub": f"https://${{{DISTRIBUTION}.DomainName}}"}


def bucket_read_statement(stage: StageConfig) -> dict[str, Any]:
    """The bucket policy's grant to this distribution: the stored large transforms, nothing else."""
    return {
        "Sid": "EdgeReadsLargeTransforms",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": {
            "Fn::Sub": f"${{{BUCKET}.Arn}}/{edge_pattern(stage.settings.rendition_prefix)}"
        },
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn()}},
    }


def edge_resources(stage: StageConfig, function: str, invoked: str | None = None) -> dict[str, Any]:
    """The distribution, its two OACs, its cache policy and the two permissions of ``function``
    (the transform function's logical id; SAM names its URL ``{function}Url``). ``invoked``: the
    logical id the URL invokes, when not the function itself (SAM puts the URL of a function
    published behind an alias on that alias, and the permissions must name it too)."""
    target = invoked or function
    return {
        FUNCTION_OAC: _oac(stage, "transform-url", "lambda"),
        BUCKET_OAC: _oac(stage, "transform-bucket", "s3"),
        CACHE_POLICY: _cache_policy(stage),
        DISTRIBUTION: _distribution(stage, function),
        # Function URLs created since October 2025 need both actions granted to the caller.
        URL_PERMISSION: _permission(
            target, "lambda:InvokeFunctionUrl", {"FunctionUrlAuthType": "AWS_IAM"}
        ),
        INVOKE_PERMISSION: _permission(
            target, "lambda:InvokeFunction", {"InvokedViaFunctionUrl": True}
        ),
    }


def _oac(stage: StageConfig, name: str, origin_type: str) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudFront::OriginAccessControl",
        "Properties": {
            "OriginAccessControlConfig": {
                "Name": stage.resource_name(name),
                "Description": f"CloudFront signs its requests to the {name} origin",
                "OriginAccessControlOriginType": origin_type,
                "SigningBehavior": "always",
                "SigningProtocol": "sigv4",
            }
        },
    }


def _cache_policy(stage: StageConfig) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudFront::CachePolicy",
        "Properties": {
            "CachePolicyConfig": {
                "Name": stage.resource_name("transforms"),
                "Comment": "Transforms: the path (signature, options, photo) and Accept",
                "MinTTL": 0,
                "DefaultTTL": 86400,
                "MaxTTL": YEAR_SECONDS,
                "ParametersInCacheKeyAndForwardedToOrigin": {
                    # Images are compressed already: no Accept-Encoding variants.
                    "EnableAcceptEncodingGzip": False,
                    "EnableAcceptEncodingBrotli": False,
                    "HeadersConfig": {
                        "HeaderBehavior": "whitelist",
                        "Headers": list(CACHE_KEY_HEADERS),
                    },
                    "CookiesConfig": {"CookieBehavior": "none"},
                    "QueryStringsConfig": {"QueryStringBehavior": "none"},
                },
            }
        },
    }


def _distribution(stage: StageConfig, function: str) -> dict[str, Any]:
    url_host = {
        "Fn::Select": [2, {"Fn::Split": ["/", {"Fn::GetAtt": [f"{function}Url", "FunctionUrl"]}]}]
    }
    read_only = ["GET", "HEAD"]
    return {
        "Type": "AWS::CloudFront::Distribution",
        "Properties": {
            "DistributionConfig": {
                "Enabled": True,
                "Comment": f"{stage.stack_name}: photo transforms (/img/...)",
                "HttpVersion": "http2and3",
                "PriceClass": "PriceClass_All",
                "Origins": [
                    {
                        "Id": FUNCTION_ORIGIN,
                        "DomainName": url_host,
                        "OriginAccessControlId": {"Fn::GetAtt": [FUNCTION_OAC, "Id"]},
                        "CustomOriginConfig": {
                            "OriginProtocolPolicy": "https-only",
                            "OriginSSLProtocols": ["TLSv1.2"],
                        },
                    },
                    {
                        "Id": BUCKET_ORIGIN,
                        "DomainName": {"Fn::GetAtt": [BUCKET, "RegionalDomainName"]},
                        "OriginAccessControlId": {"Fn::GetAtt": [BUCKET_OAC, "Id"]},
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    },
                ],
                "DefaultCacheBehavior": {
                    "TargetOriginId": FUNCTION_ORIGIN,
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "AllowedMethods": read_only,
                    "CachedMethods": read_only,
                    "CachePolicyId": {"Ref": CACHE_POLICY},
                    "Compress": False,
                },
                "CacheBehaviors": [
                    {
                        "PathPattern": "/" + edge_pattern(stage.settings.rendition_prefix),
                        "TargetOriginId": BUCKET_ORIGIN,
                        "ViewerProtocolPolicy": "redirect-to-https",
                        "AllowedMethods": read_only,
                        "CachedMethods": read_only,
                        "CachePolicyId": CACHING_OPTIMIZED,
                        "Compress": False,
                    }
                ],
            },
            "Tags": [
                {"Key": "service", "Value": stage.service},
                {"Key": "stage", "Value": stage.stage},
                {"Key": "app", "Value": "bakusoku"},
            ],
        },
    }


def _permission(function: str, action: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": {"Ref": function},
            "Action": action,
            "Principal": "cloudfront.amazonaws.com",
            "SourceArn": distribution_arn(),
            "SourceAccount": {"Ref": "AWS::AccountId"},
            **extra,
        },
    }
