import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IAlarmAction, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';

/** Options of one alarm, without its description (the maker prefixes it with who raises it). */
export type AlarmOptions = Omit<ConstructorParameters<typeof Alarm>[2], 'alarmDescription'>;
/** Makes an alarm in `scope`: missing data is not breaching, and it notifies `action` when there is one. */
export type AlarmMaker = (alarmId: string, description: string, options: AlarmOptions) => Alarm;

/** An alarm maker whose descriptions start with `who`. */
export function alarmMaker(scope: Construct, who: string, action: IAlarmAction | undefined): AlarmMaker {
  return (alarmId, description, options) => {
    const made = new Alarm(scope, alarmId, { alarmDescription: `${who}: ${description}`, treatMissingData: TreatMissingData.NOT_BREACHING, ...options });
    if (action !== undefined) made.addAlarmAction(action);
    return made;
  };
}

/** The alarms every function has: any failed invocation, any throttled one (5-minute sums), with the given ids. */
export function functionAlarms(alarm: AlarmMaker, fn: IFunction, ids: { readonly errors: string; readonly throttles: string }): { readonly errors: Alarm; readonly throttles: Alarm } {
  const anyIn5Minutes = { threshold: 0, comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD, evaluationPeriods: 1 } as const;
  return {
    errors: alarm(ids.errors, 'invocations failed (see the function logs)', { metric: fn.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }), ...anyIn5Minutes }),
    throttles: alarm(ids.throttles, 'invocations were throttled (account concurrency)', { metric: fn.metricThrottles({ statistic: 'Sum', period: Duration.minutes(5) }), ...anyIn5Minutes }),
  };
}
